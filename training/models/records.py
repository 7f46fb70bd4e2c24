"""Competence records, certificates and review requests."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class LevelSource(models.TextChoices):
    MODULE = "module", "Module completed"
    MANAGER = "manager", "Set by a manager"
    IMPORT = "import", "Imported"


class AttainedLevel(models.Model):
    """A learner's current level in one competence (of one framework version)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attained_levels")
    competence = models.ForeignKey("training.Competence", on_delete=models.CASCADE, related_name="attainments")
    level = models.PositiveSmallIntegerField()
    source = models.CharField(max_length=10, choices=LevelSource.choices, default=LevelSource.MODULE)
    attained_at = models.DateTimeField(default=timezone.now)
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    validated_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "competence"], name="unique_attained_level")]
        indexes = [models.Index(fields=["competence", "level"])]

    def __str__(self):
        return f"{self.user} · {self.competence_id} = {self.level}"


class EvidenceType(models.TextChoices):
    MODULE = "module", "Module completed"
    VALIDATED = "validated", "Validated by manager"
    ADJUSTED = "adjusted", "Adjusted by manager"
    KNOWLEDGE_WORK = "knowledge_work", "Knowledge work"


class LevelEvidence(models.Model):
    """Why a learner holds a level, or what they did that shows a competence.

    The framework is stored too, so a record always says which version it was
    assessed against, whatever happens to later versions.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="level_evidence")
    competence = models.ForeignKey("training.Competence", on_delete=models.CASCADE, related_name="evidence")
    framework = models.ForeignKey("training.Framework", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=16, choices=EvidenceType.choices)
    knowledge_kind = models.CharField(max_length=30, blank=True)
    level = models.PositiveSmallIntegerField(null=True, blank=True)
    previous_level = models.PositiveSmallIntegerField(null=True, blank=True)
    module = models.ForeignKey("training.Module", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    page = models.ForeignKey(
        "knowledge.KnowledgePage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "level evidence"
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self):
        return f"{self.user} · {self.competence_id} · {self.type}"


class Certificate(models.Model):
    """Proof that a learner completed a curriculum, valid until ``expires_on``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_certificates")
    curriculum = models.ForeignKey("training.Curriculum", on_delete=models.CASCADE, related_name="certificates")
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_on = models.DateField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self):
        return f"{self.curriculum} · {self.user}"

    def is_valid(self, today=None):
        return self.expires_on is None or self.expires_on >= (today or timezone.localdate())


class ModuleReviewRequest(models.Model):
    """Material a module uses has changed: its owners should review it."""

    module = models.ForeignKey("training.Module", on_delete=models.CASCADE, related_name="review_requests")
    page = models.ForeignKey("knowledge.KnowledgePage", null=True, on_delete=models.SET_NULL, related_name="+")
    summary = models.TextField()
    changed_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["module", "page", "changed_at"], name="unique_module_review_request")
        ]

    def __str__(self):
        return f"Review {self.module} ({self.changed_at:%Y-%m-%d})"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    VALID = "valid", "Valid (dry run, nothing written)"
    INVALID = "invalid", "Invalid (nothing written)"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed (nothing written)"


class ImportJob(models.Model):
    """A CSV upload from the admin, validated or imported by a worker."""

    kind = models.CharField(max_length=12)
    filename = models.CharField(max_length=255)
    content = models.TextField()
    dry_run = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    total_rows = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)
    summary = models.JSONField(default=dict)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} import {self.filename} ({self.status})"
