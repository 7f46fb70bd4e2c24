"""Review work: tasks with a named reviewer and a due date, the material
changes that flag citing pages, and ownership hand-overs."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from wagtail.admin.panels import FieldPanel


class ReviewTaskQuerySet(models.QuerySet):
    def open(self):
        return self.filter(completed_at__isnull=True)

    def closed(self):
        return self.filter(completed_at__isnull=False)


class ReviewTask(models.Model):
    """One review somebody has to do, by a date.

    Three kinds: the page's scheduled review (one per review cycle), a flag
    raised because a page it cites changed materially (one per changed
    revision), and an amendment a lesson learned proposes. ``key`` makes each
    of them exist once however often the sweep or a publication runs.
    """

    class Kind(models.TextChoices):
        CYCLE = "cycle", "Scheduled review"
        CITED_CHANGE = "cited_change", "A cited page changed"
        AMENDMENT = "amendment", "Amendment proposed by a lesson"

    class Outcome(models.TextChoices):
        REVIEWED = "reviewed", "Confirmed accurate"
        UPDATED = "updated", "Page updated"
        AMENDED = "amended", "Amendment made"
        DECLINED = "declined", "Amendment not needed"
        CANCELLED = "cancelled", "Cancelled"

    key = models.CharField(max_length=120, unique=True, editable=False)
    page = models.ForeignKey("knowledge.KnowledgePage", on_delete=models.CASCADE, related_name="review_tasks")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="knowledge_review_tasks",
    )
    due_date = models.DateField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    note = models.TextField(blank=True, help_text="What changed, or the amendment proposed")
    # A cited page changed: which page, through which citing page, how far away.
    change = models.ForeignKey(
        "knowledge.MaterialChange", null=True, blank=True, on_delete=models.CASCADE, related_name="flags",
        editable=False,
    )
    changed_page = models.ForeignKey(
        "knowledge.KnowledgePage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    via_page = models.ForeignKey(
        "knowledge.KnowledgePage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    # A lesson proposes an amendment.
    lesson = models.ForeignKey(
        "knowledge.LessonLearnedPage", null=True, blank=True, on_delete=models.CASCADE,
        related_name="amendment_tasks", editable=False,
    )
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, editable=False)
    outcome_comment = models.TextField(blank=True, editable=False)

    objects = ReviewTaskQuerySet.as_manager()

    panels = [FieldPanel("reviewer"), FieldPanel("due_date"), FieldPanel("note")]

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [models.Index(fields=["page", "kind", "completed_at"], name="knowledge_task_open_idx")]
        verbose_name = "review task"

    def __str__(self):
        return f"{self.get_kind_display()}: {self.page.title}"

    @property
    def is_open(self):
        return self.completed_at is None

    def flag_text(self):
        """"<cited page> changed on <date> — <summary>" for a cited change."""
        if self.kind != self.Kind.CITED_CHANGE:
            return self.note
        name = self.changed_page.title if self.changed_page else "A cited page"
        when = timezone.localdate(self.change.changed_at) if self.change else timezone.localdate(self.created_at)
        text = f"{name} changed on {when.day} {when:%B %Y}"
        if self.note:
            text += f" — {self.note}"
        if self.via_page and self.depth > 1:
            text += f" (through {self.via_page.title})"
        return text


class MaterialChange(models.Model):
    """A publication its editor marked as a material change. One per
    revision, which is what makes propagation idempotent."""

    page = models.ForeignKey("knowledge.KnowledgePage", on_delete=models.CASCADE, related_name="material_changes")
    revision_id = models.BigIntegerField(unique=True)
    summary = models.CharField(max_length=255)
    changed_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    flagged_count = models.PositiveIntegerField(default=0)
    depth_reached = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self):
        return f"{self.page.title}: {self.summary}"


class OwnershipTransfer(models.Model):
    """A page passed to a new owner because its owner left or moved unit."""

    class Reason(models.TextChoices):
        DEACTIVATED = "deactivated", "Owner's account was deactivated"
        MOVED = "moved", "Owner moved to another unit"

    page = models.ForeignKey("knowledge.KnowledgePage", on_delete=models.CASCADE, related_name="ownership_transfers")
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Empty when no content lead could be found: an administrator must choose an owner",
    )
    unit = models.ForeignKey("knowledge.OrgUnit", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.page.title}: {self.from_user} → {self.to_user or 'nobody'}"
