"""Who must learn what, by when, and how far each learner has got."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel


class AssigneeKind(models.TextChoices):
    USER = "user", "A person"
    GROUP = "group", "A group"
    UNIT = "unit", "An organisation unit"
    JOB_PROFILE = "job_profile", "A job profile"


class Assignment(models.Model):
    """HR's instruction that a person, group, unit or job profile complete a
    curriculum or module. It is expanded into one ``Enrolment`` per member,
    and newcomers to the unit, group or profile get theirs automatically."""

    curriculum = models.ForeignKey(
        "training.Curriculum", null=True, blank=True, on_delete=models.CASCADE, related_name="assignments"
    )
    module = models.ForeignKey(
        "training.Module", null=True, blank=True, on_delete=models.CASCADE, related_name="assignments"
    )
    assignee_kind = models.CharField(max_length=12, choices=AssigneeKind.choices, verbose_name="assign to")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    group = models.ForeignKey("auth.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    unit = models.ForeignKey("knowledge.OrgUnit", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    include_subunits = models.BooleanField(default=True)
    job_profile = models.ForeignKey(
        "training.JobProfile", null=True, blank=True, on_delete=models.CASCADE, related_name="assignments"
    )
    due_date = models.DateField(null=True, blank=True)
    due_within_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For newcomers: due this many days after they join (instead of the due date)"
    )
    active = models.BooleanField(default=True, help_text="Inactive assignments reach no newcomers")
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    panels = [
        MultiFieldPanel([FieldPanel("curriculum"), FieldPanel("module")], heading="What (one of)"),
        MultiFieldPanel(
            [FieldPanel("assignee_kind"), FieldPanel("user"), FieldPanel("group"),
             FieldRowPanel([FieldPanel("unit"), FieldPanel("include_subunits")]), FieldPanel("job_profile")],
            heading="Who",
        ),
        FieldRowPanel([FieldPanel("due_date"), FieldPanel("due_within_days")]),
        FieldPanel("active"),
        FieldPanel("note"),
    ]

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.target} → {self.assignee}"

    @property
    def target(self):
        return self.curriculum or self.module

    @property
    def assignee(self):
        return {
            AssigneeKind.USER: self.user,
            AssigneeKind.GROUP: self.group,
            AssigneeKind.UNIT: self.unit,
            AssigneeKind.JOB_PROFILE: self.job_profile,
        }.get(self.assignee_kind)

    def clean(self):
        errors = {}
        if bool(self.curriculum_id) == bool(self.module_id):
            errors["curriculum"] = "Choose either a curriculum or a module (not both)."
        field = {"user": "user", "group": "group", "unit": "unit", "job_profile": "job_profile"}.get(self.assignee_kind)
        if field and not getattr(self, f"{field}_id"):
            errors[field] = f"Choose the {AssigneeKind(self.assignee_kind).label.split(' ', 1)[1].lower()} to assign."
        for other in {"user", "group", "unit", "job_profile"} - {field}:
            setattr(self, other, None)
        if errors:
            raise ValidationError(errors)


class EnrolmentKind(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    SELF = "self", "Self-enrolled"
    RECERTIFICATION = "recertification", "Recertification"
    REFRESHER = "refresher", "Refresher"


class Enrolment(models.Model):
    """One learner's instance of a curriculum or module: assigned, chosen,
    a recertification, or a refresher about changed material."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_enrolments")
    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="enrolments"
    )
    curriculum = models.ForeignKey(
        "training.Curriculum", null=True, blank=True, on_delete=models.CASCADE, related_name="enrolments"
    )
    module = models.ForeignKey(
        "training.Module", null=True, blank=True, on_delete=models.CASCADE, related_name="enrolments"
    )
    kind = models.CharField(max_length=16, choices=EnrolmentKind.choices, default=EnrolmentKind.ASSIGNED)
    due_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    refresher_page = models.ForeignKey(
        "knowledge.KnowledgePage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    refresher_summary = models.TextField(blank=True)
    refresher_changed_at = models.DateTimeField(null=True, blank=True)
    renews = models.ForeignKey(
        "training.Certificate", null=True, blank=True, on_delete=models.SET_NULL, related_name="renewals"
    )

    class Meta:
        ordering = ["due_date", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "assignment"], condition=models.Q(assignment__isnull=False),
                name="unique_enrolment_per_assignment",
            ),
        ]
        indexes = [models.Index(fields=["user", "completed_at"]), models.Index(fields=["due_date"])]

    def __str__(self):
        return f"{self.user} · {self.target}"

    @property
    def target(self):
        return self.curriculum or self.module


class ProgressStatus(models.TextChoices):
    OPENED = "opened", "Opened"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "No attempts left"


class ActivityProgress(models.Model):
    """A learner's state on one activity, with timestamps and score."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activity_progress")
    activity = models.ForeignKey("training.Activity", on_delete=models.CASCADE, related_name="progress")
    status = models.CharField(max_length=10, choices=ProgressStatus.choices, default=ProgressStatus.OPENED)
    opened_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Best percentage")
    attempts = models.PositiveSmallIntegerField(default=0)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "activity progress"
        constraints = [models.UniqueConstraint(fields=["user", "activity"], name="unique_activity_progress")]

    def __str__(self):
        return f"{self.user} · {self.activity_id} · {self.status}"


class CheckAttempt(models.Model):
    """One submitted attempt at a knowledge check, kept for the record."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="check_attempts")
    activity = models.ForeignKey("training.Activity", on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveSmallIntegerField()
    answers = models.JSONField(default=dict, help_text="question id → chosen answer index")
    score = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["submitted_at"]
        constraints = [models.UniqueConstraint(fields=["user", "activity", "number"], name="unique_attempt_number")]

    def __str__(self):
        return f"{self.user} · {self.activity_id} · #{self.number} {self.score}%"


class ModuleCompletion(models.Model):
    """A learner finished every activity of a module (kept per completion, so
    recertification adds a row rather than overwriting the first)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="module_completions")
    module = models.ForeignKey("training.Module", on_delete=models.CASCADE, related_name="completions")
    completed_at = models.DateTimeField(default=timezone.now)
    score = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Mean knowledge-check score")

    class Meta:
        ordering = ["-completed_at"]
        indexes = [models.Index(fields=["user", "module"])]

    def __str__(self):
        return f"{self.user} completed {self.module_id}"
