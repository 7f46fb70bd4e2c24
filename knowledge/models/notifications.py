"""What owners and managers are told, and the daily figures reports chart."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from ..freshness import Freshness


class Notification(models.Model):
    """A message to one person: shown in the admin and sent by e-mail once.

    ``key`` is unique and derived from what the message is about, so a
    sweep that runs twice (or is interrupted and run again) never creates
    the same message twice. ``emailed_at`` is claimed before sending.
    """

    class Kind(models.TextChoices):
        DIGEST = "digest", "Review digest"
        ESCALATION = "escalation", "Escalation"
        CHANGE = "change", "A cited page changed"
        OWNERSHIP = "ownership", "Ownership transferred"
        AMENDMENT = "amendment", "Amendment proposed"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="knowledge_notifications"
    )
    key = models.CharField(max_length=160, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="knowledge_notif_unread_idx")]

    def __str__(self):
        return self.subject


class Reminder(models.Model):
    """That one person was told about one page in one state (for one review
    cycle): the de-duplication record behind digests and escalations."""

    key = models.CharField(max_length=160, unique=True)
    page = models.ForeignKey("knowledge.KnowledgePage", on_delete=models.CASCADE, related_name="reminders")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16)
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="reminders")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.key


class Visibility(models.TextChoices):
    """Who could see the pages a snapshot row counts (from access tokens)."""

    PUBLIC = "public", "Anyone"
    INTERNAL = "internal", "Signed-in staff"
    RESTRICTED = "restricted", "Restricted"


class FreshnessSnapshot(models.Model):
    """How many live pages of a unit were in a state on a date. The sweep
    replaces the day's rows, so running it twice a day changes nothing."""

    date = models.DateField(db_index=True)
    unit = models.ForeignKey("knowledge.OrgUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=16, choices=Freshness.CHOICES)
    visibility = models.CharField(max_length=16, choices=Visibility.choices)
    count = models.PositiveIntegerField()

    class Meta:
        ordering = ["date"]
        permissions = [("view_freshness_report", "Can see the freshness report of every unit")]

    def __str__(self):
        return f"{self.date} {self.unit_id} {self.state} {self.visibility}: {self.count}"
