"""What there is to learn: curricula made of modules made of activities."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.search import index


class Curriculum(index.Indexed, ClusterableModel):
    """A programme of modules leading to a certificate (e.g. "Records essentials")."""

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    summary = models.TextField()
    is_open = models.BooleanField(
        default=False, verbose_name="open for self-enrolment", help_text="Anyone signed in may enrol themselves"
    )
    live = models.BooleanField(default=True, help_text="Hidden from learners when unticked")
    owners = ParentalManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="owned_curricula")
    issues_certificate = models.BooleanField(default=True)
    certificate_validity_months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Leave empty for certificates that do not expire"
    )

    panels = [
        FieldPanel("title"),
        FieldPanel("slug"),
        FieldPanel("summary"),
        FieldRowPanel([FieldPanel("is_open"), FieldPanel("live")]),
        FieldPanel("owners"),
        MultiFieldPanel([FieldPanel("issues_certificate"), FieldPanel("certificate_validity_months")],
                        heading="Certificate"),
    ]
    search_fields = [index.SearchField("title"), index.AutocompleteField("title")]

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "curricula"

    def __str__(self):
        return self.title

    def ordered_modules(self):
        return self.modules.order_by("sort_order", "pk")

    @property
    def estimated_minutes(self):
        return sum(m.estimated_minutes for m in self.modules.all())


class Module(index.Indexed, ClusterableModel):
    """A unit of learning with activities, owners, prerequisites and the
    competence levels it develops."""

    curriculum = models.ForeignKey(
        Curriculum, null=True, blank=True, on_delete=models.SET_NULL, related_name="modules"
    )
    sort_order = models.PositiveSmallIntegerField(default=0, help_text="Position within the curriculum")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    summary = models.TextField()
    owners = ParentalManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="owned_modules",
        help_text="Asked to review the module when its material changes",
    )
    prerequisites = ParentalManyToManyField("self", symmetrical=False, blank=True, related_name="unlocks")
    needs_review = models.BooleanField(
        default=False, help_text="Set when material the module uses has changed; untick once reviewed"
    )

    panels = [
        FieldRowPanel([FieldPanel("curriculum"), FieldPanel("sort_order")]),
        FieldPanel("title"),
        FieldPanel("slug"),
        FieldPanel("summary"),
        FieldPanel("owners"),
        FieldPanel("prerequisites"),
        FieldPanel("needs_review"),
        InlinePanel("competences", heading="Competences developed", label="Competence"),
        InlinePanel(
            "activities",
            heading="Activities",
            label="Activity",
            panels=[
                FieldRowPanel([FieldPanel("kind"), FieldPanel("estimated_minutes")]),
                FieldPanel("title"),
                FieldPanel("instructions"),
                FieldPanel("page"),
                FieldPanel("url"),
                FieldRowPanel([FieldPanel("pass_mark"), FieldPanel("max_attempts")]),
                FieldRowPanel([FieldPanel("session_starts_at"), FieldPanel("location"), FieldPanel("trainer")]),
            ],
        ),
    ]
    search_fields = [index.SearchField("title"), index.AutocompleteField("title")]

    class Meta:
        ordering = ["curriculum__title", "sort_order", "pk"]

    def __str__(self):
        return self.title

    @property
    def estimated_minutes(self):
        return sum(a.estimated_minutes for a in self.activities.all())

    def clean(self):
        if self.pk and self.prerequisites.filter(pk=self.pk).exists():
            raise ValidationError({"prerequisites": "A module cannot be its own prerequisite."})


class ModuleCompetence(models.Model):
    """Completing the module brings the learner to ``level`` in ``competence``."""

    module = ParentalKey(Module, on_delete=models.CASCADE, related_name="competences")
    competence = models.ForeignKey("training.Competence", on_delete=models.CASCADE, related_name="developed_by")
    level = models.PositiveSmallIntegerField()

    panels = [FieldRowPanel([FieldPanel("competence"), FieldPanel("level")])]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["module", "competence"], name="unique_module_competence")]

    def __str__(self):
        return f"{self.competence} → {self.level}"

    def clean(self):
        if self.competence_id and self.level:
            top = self.competence.framework.max_level
            if not 1 <= self.level <= top:
                raise ValidationError({"level": f"Choose a level between 1 and {top} for this framework."})


class ActivityKind(models.TextChoices):
    READ = "read", "Read a knowledge page"
    EXTERNAL = "external", "External resource"
    CHECK = "check", "Knowledge check"
    ATTENDANCE = "attendance", "Face-to-face session"


class Activity(ClusterableModel):
    """One thing to do in a module. Reading a page completes when the learner
    confirms after opening it; a knowledge check when it is passed within the
    allowed attempts; a session when a trainer marks attendance."""

    module = ParentalKey(Module, on_delete=models.CASCADE, related_name="activities")
    sort_order = models.IntegerField(null=True, blank=True, editable=False)
    kind = models.CharField(max_length=12, choices=ActivityKind.choices, default=ActivityKind.READ)
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    page = models.ForeignKey(
        "knowledge.KnowledgePage", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="training_activities", help_text="For reading activities",
    )
    url = models.URLField(blank=True, verbose_name="URL", help_text="For external resources")
    estimated_minutes = models.PositiveSmallIntegerField(default=10)
    pass_mark = models.PositiveSmallIntegerField(default=80, help_text="Percent, for knowledge checks")
    max_attempts = models.PositiveSmallIntegerField(default=3, help_text="For knowledge checks")
    session_starts_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=200, blank=True)
    trainer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_sessions"
    )

    sort_order_field = "sort_order"
    panels = [
        FieldPanel("module"),
        FieldRowPanel([FieldPanel("kind"), FieldPanel("estimated_minutes")]),
        FieldPanel("title"),
        FieldPanel("instructions"),
        FieldPanel("page"),
        FieldPanel("url"),
        FieldRowPanel([FieldPanel("pass_mark"), FieldPanel("max_attempts")]),
        FieldRowPanel([FieldPanel("session_starts_at"), FieldPanel("location"), FieldPanel("trainer")]),
        InlinePanel("questions", heading="Questions (knowledge checks)", label="Question"),
    ]

    class Meta:
        ordering = ["module", "sort_order", "pk"]
        verbose_name_plural = "activities"

    def __str__(self):
        return f"{self.module} › {self.title}" if self.module_id else self.title

    def clean(self):
        errors = {}
        if self.kind == ActivityKind.READ and not self.page_id:
            errors["page"] = "Choose the knowledge page to read."
        if self.kind == ActivityKind.EXTERNAL and not self.url:
            errors["url"] = "Give the address of the external resource."
        if self.kind == ActivityKind.CHECK:
            if not 1 <= self.pass_mark <= 100:
                errors["pass_mark"] = "The pass mark is a percentage between 1 and 100."  # noqa: S105
            if self.max_attempts < 1:
                errors["max_attempts"] = "Allow at least one attempt."
        if errors:
            raise ValidationError(errors)


class Question(models.Model):
    """A multiple-choice question in a knowledge check."""

    activity = ParentalKey(Activity, on_delete=models.CASCADE, related_name="questions")
    sort_order = models.IntegerField(null=True, blank=True, editable=False)
    prompt = models.TextField()
    choices = models.TextField(help_text="One answer per line. Start the correct answer with an asterisk (*).")
    explanation = models.TextField(blank=True, help_text="Shown after the attempt")

    sort_order_field = "sort_order"
    panels = [FieldPanel("prompt"), FieldPanel("choices"), FieldPanel("explanation")]

    class Meta:
        ordering = ["sort_order", "pk"]

    def __str__(self):
        return self.prompt[:80]

    def parsed_choices(self):
        """[(text, is_correct), ...] in the order written."""
        out = []
        for line in self.choices.splitlines():
            line = line.strip()
            if not line:
                continue
            correct = line.startswith("*")
            out.append((line.lstrip("*").strip(), correct))
        return out

    @property
    def correct_index(self):
        return next((i for i, (_, ok) in enumerate(self.parsed_choices()) if ok), None)

    def clean(self):
        choices = self.parsed_choices()
        if len(choices) < 2:
            raise ValidationError({"choices": "Write at least two answers, one per line."})
        if sum(1 for _, ok in choices if ok) != 1:
            raise ValidationError({"choices": "Mark exactly one answer as correct with an asterisk (*)."})
