"""Following guidance: who follows what, what changed, and who was told.

* ``Subscription``: one person follows a page, a topic, a unit, a content
  type or a saved search, at a frequency, possibly paused.
* ``GuidanceChange``: one event readers may be told about (a material
  change with its note, a new page, a supersession or rescission with its
  successor, an unpublication, or "may be affected by a change to ...").
  ``key`` is unique, so recording the same event twice records it once.
* ``Delivery``: one row per change and person (unique), the unit of
  idempotence: claimed before sending, marked sent after.
* ``MailSuppression``: an address that bounced or failed repeatedly; no
  more mail goes to it until an administrator lifts it.
* ``FeedToken``: the secret of a person's personal Atom feed (revocable).
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class Frequency(models.TextChoices):
    IMMEDIATE = "immediate", "Straight away"
    DAILY = "daily", "Daily digest"
    WEEKLY = "weekly", "Weekly digest"


FREQUENCY_RANK = {Frequency.IMMEDIATE: 0, Frequency.DAILY: 1, Frequency.WEEKLY: 2}


class Subscription(models.Model):
    class Kind(models.TextChoices):
        PAGE = "page", "Page"
        TOPIC = "topic", "Topic"
        UNIT = "unit", "Organisation unit"
        CONTENT_TYPE = "content_type", "Content type"
        SEARCH = "search", "Saved search"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="km_subscriptions")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    page = models.ForeignKey("wagtailcore.Page", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    topic = models.ForeignKey("knowledge.Topic", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey("knowledge.OrgUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    content_type = models.ForeignKey(
        "contenttypes.ContentType", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    query = models.CharField(max_length=200, blank=True, help_text="The saved search's words")
    target_key = models.CharField(max_length=220, editable=False, help_text="kind:id or search:query")
    frequency = models.CharField(max_length=16, choices=Frequency.choices, default=Frequency.IMMEDIATE)
    paused = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "target_key"]
        constraints = [models.UniqueConstraint(fields=["user", "target_key"], name="km_subscription_once")]
        indexes = [models.Index(fields=["target_key"], name="km_subscription_target_idx")]

    def save(self, *args, **kwargs):
        self.target_key = self.make_key(self.kind, self.target_id, self.query)
        super().save(*args, **kwargs)

    @property
    def target_id(self):
        return {"page": self.page_id, "topic": self.topic_id, "unit": self.unit_id,
                "content_type": self.content_type_id}.get(self.kind)

    @staticmethod
    def make_key(kind, target_id=None, query=""):
        if kind == Subscription.Kind.SEARCH:
            return f"search:{' '.join(query.lower().split())}"[:220]
        return f"{kind}:{target_id}"

    def __str__(self):
        return f"{self.user_id} follows {self.target_key}"


class GuidanceChange(models.Model):
    class Kind(models.TextChoices):
        MATERIAL = "material", "Changed"
        NEW = "new", "New"
        SUPERSEDED = "superseded", "Superseded"
        RESCINDED = "rescinded", "Rescinded"
        UNPUBLISHED = "unpublished", "Withdrawn"
        AFFECTED = "affected", "May be affected"

    key = models.CharField(max_length=160, unique=True)
    page = models.ForeignKey("wagtailcore.Page", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    note = models.TextField(blank=True)
    revision = models.ForeignKey("wagtailcore.Revision", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    previous_revision = models.ForeignKey("wagtailcore.Revision", null=True, blank=True,
                                          on_delete=models.SET_NULL, related_name="+")
    successor = models.ForeignKey("wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    cause = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="effects")
    title = models.CharField(max_length=255, help_text="The page's title when it changed")
    fanned_out = models.BooleanField(default=False, help_text="Deliveries were created for its followers")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.title}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        CLAIMED = "claimed", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SUPPRESSED = "suppressed", "Suppressed"
        WITHHELD = "withheld", "Withheld (no longer visible)"

    change = models.ForeignKey(GuidanceChange, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="km_deliveries")
    frequency = models.CharField(max_length=16, choices=Frequency.choices)
    reason = models.CharField(max_length=220, blank=True, help_text="What the person follows that matched")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    claim = models.CharField(max_length=32, blank=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["change", "user"], name="km_delivery_once")]
        indexes = [models.Index(fields=["status", "frequency", "user"], name="km_delivery_queue_idx")]
        permissions = [("view_delivery_report", "Can see the notification delivery report")]

    def __str__(self):
        return f"{self.change_id} → {self.user_id}: {self.status}"


class MailSuppression(models.Model):
    address = models.EmailField(unique=True)
    failures = models.PositiveIntegerField(default=0)
    suspended_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.address


def new_feed_secret():
    return secrets.token_urlsafe(24)


class FeedToken(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="km_feed_token")
    secret = models.CharField(max_length=64, unique=True, default=new_feed_secret)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"feed token of {self.user_id}"
