"""Following guidance: who follows what, what changed, and who was told.

* ``Subscription``: one person follows a page, a topic, a unit, a content
  type or a saved search, at a frequency, possibly paused.
* ``GuidanceChange``: one event readers may be told about (a material
  change with its note, a new page, a supersession or rescission with its
  successor, an unpublication, or "may be affected by a change to ...").
  ``key`` is unique, so recording the same event twice records it once.
* ``Delivery``: one row per change and person (unique), the unit of
  idempotence: claimed before sending, marked sent after.
* ``SentMessage``: the mark of one accepted e-mail, until its batch's
  deliveries are marked sent.
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

    # no index of its own: km_delivery_once (change, user) serves lookups by change, and every
    # index is written again each time a row's status changes (2,000,000 rows in a digest run)
    change = models.ForeignKey(GuidanceChange, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="km_deliveries")
    frequency = models.CharField(max_length=16, choices=Frequency.choices)
    reason = models.CharField(max_length=220, blank=True, help_text="What the person follows that matched")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    claim = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["change", "user"], name="km_delivery_once")]
        # partial indexes: a row enters each only while it is in that state, so marking
        # 2,000,000 rows sent (bench/notifications.py) writes two index entries fewer per row
        indexes = [
            models.Index(fields=["status", "frequency", "user"], name="km_delivery_waiting_idx",
                         condition=models.Q(status__in=["pending", "claimed"])),
            models.Index(fields=["claim", "user"], name="km_delivery_claimed_idx", condition=models.Q(status="claimed")),
            models.Index(fields=["sent_at"], name="km_delivery_sent_idx", condition=models.Q(sent_at__isnull=False)),
        ]
        permissions = [("view_delivery_report", "Can see the notification delivery report")]

    def __str__(self):
        return f"{self.change_id} → {self.user_id}: {self.status}"


class SentMessage(models.Model):
    """The "sent" mark of one e-mail, written the moment the SMTP server
    accepts it: one small row per message rather than an UPDATE of every
    delivery row it carries (20 in a 20-change digest: 3.7 ms of database
    CPU per message in bench/notifications.py). A sending run turns the marks
    of a batch into "sent" on its deliveries in one statement; a restart does
    the same for a killed sender's claim before putting the rest back."""

    claim = models.CharField(max_length=32)
    # no index on user: the rows live for one batch; km_sent_message_once serves every lookup
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["claim", "user"], name="km_sent_message_once")]

    def __str__(self):
        return f"{self.claim} → {self.user_id}"


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
