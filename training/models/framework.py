"""Skills frameworks: versions, areas, competences, level scales, crosswalks
between frameworks, job profiles that require levels, and the tags that link
knowledge pages to the competences they support."""

from django.core.exceptions import ValidationError
from django.db import models, transaction
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel
from wagtail.models import Orderable
from wagtail.search import index


class FrameworkStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    RETIRED = "retired", "Retired"


class EvidenceKind(models.TextChoices):
    """Kinds of everyday knowledge work that count as evidence of competence."""

    LESSON_AUTHORED = "lesson_authored", "Authored a lesson learned"
    REVIEW_ON_TIME = "review_on_time", "Reviewed a page on time"
    PROCEDURE_PUBLISHED = "procedure_published", "Published a procedure"
    POLICY_PUBLISHED = "policy_published", "Published a policy"


class Framework(index.Indexed, ClusterableModel):
    """One version of a skills framework.

    Every version is its own row with its own areas, competences and levels.
    Records point at the competences of the version they were assessed
    against, so publishing a new version never rewrites anybody's history;
    ``new_version`` copies a framework and links the two with a crosswalk.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, help_text="Shared by every version of the same framework")
    version = models.CharField(max_length=20, help_text="e.g. 1.0, 2025")
    status = models.CharField(max_length=10, choices=FrameworkStatus.choices, default=FrameworkStatus.DRAFT)
    description = models.TextField(blank=True)
    published_on = models.DateField(null=True, blank=True)

    panels = [
        FieldPanel("name"),
        FieldRowPanel([FieldPanel("slug"), FieldPanel("version"), FieldPanel("status"), FieldPanel("published_on")]),
        FieldPanel("description"),
        InlinePanel("levels", heading="Proficiency levels", label="Level", min_num=2),
        InlinePanel("areas", heading="Competence areas", label="Area"),
    ]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name", "-published_on", "-version"]
        constraints = [models.UniqueConstraint(fields=["slug", "version"], name="unique_framework_version")]

    def __str__(self):
        return f"{self.name} v{self.version}"

    @property
    def level_numbers(self):
        return sorted(level.number for level in self.levels.all())

    @property
    def max_level(self):
        return max(self.level_numbers, default=0)

    @classmethod
    def current(cls):
        """The most recently published active framework (reports default to it)."""
        return cls.objects.filter(status=FrameworkStatus.ACTIVE).order_by("-published_on", "-pk").first()

    @transaction.atomic
    def new_version(self, version):
        """Copy this framework as a draft ``version`` with a crosswalk from this one."""
        copy = Framework.objects.create(
            name=self.name, slug=self.slug, version=version, description=self.description
        )
        for level in self.levels.all():
            ProficiencyLevel.objects.create(
                framework=copy, number=level.number, name=level.name, descriptor=level.descriptor,
                sort_order=level.sort_order,
            )
        crosswalk = Crosswalk.objects.create(
            name=f"{self} → v{version}", source=self, target=copy, notes="Created with the new version."
        )
        for number in self.level_numbers:
            LevelMapping.objects.create(crosswalk=crosswalk, source_level=number, target_level=number)
        for area in self.areas.all():
            new_area = CompetenceArea.objects.create(
                framework=copy, code=area.code, name=area.name, description=area.description,
                sort_order=area.sort_order,
            )
            for competence in area.competences.all():
                new = Competence.objects.create(
                    area=new_area, code=competence.code, name=competence.name,
                    description=competence.description,
                )
                for d in competence.level_descriptors.all():
                    CompetenceLevelDescriptor.objects.create(competence=new, level=d.level, descriptor=d.descriptor)
                for r in competence.evidence_rules.all():
                    CompetenceEvidenceRule.objects.create(competence=new, kind=r.kind)
                CompetenceMapping.objects.create(crosswalk=crosswalk, source_competence=competence, target_competence=new)
        return copy


class ProficiencyLevel(Orderable):
    """A step on a framework's scale, with its general descriptor."""

    framework = ParentalKey(Framework, on_delete=models.CASCADE, related_name="levels")
    number = models.PositiveSmallIntegerField(help_text="1 is the lowest level")
    name = models.CharField(max_length=80)
    descriptor = models.TextField()

    panels = [FieldRowPanel([FieldPanel("number"), FieldPanel("name")]), FieldPanel("descriptor")]

    class Meta(Orderable.Meta):
        constraints = [models.UniqueConstraint(fields=["framework", "number"], name="unique_framework_level")]

    def __str__(self):
        return f"{self.number} {self.name}"


class CompetenceArea(Orderable):
    """A group of related competences (e.g. "Publishing and maintaining content")."""

    framework = ParentalKey(Framework, on_delete=models.CASCADE, related_name="areas")
    code = models.CharField(max_length=10)
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)

    panels = [FieldRowPanel([FieldPanel("code"), FieldPanel("name")]), FieldPanel("description")]

    def __str__(self):
        return f"{self.code} {self.name} ({self.framework})"


class Competence(index.Indexed, ClusterableModel):
    """A competence within an area, with optional descriptors per level and the
    kinds of knowledge work that count as evidence for it."""

    framework = models.ForeignKey(
        Framework, on_delete=models.CASCADE, related_name="competences", editable=False
    )
    area = models.ForeignKey(CompetenceArea, on_delete=models.CASCADE, related_name="competences")
    code = models.CharField(max_length=12, help_text="Unique within the framework version, e.g. KM2.3")
    name = models.CharField(max_length=150)
    description = models.TextField(blank=True)

    panels = [
        FieldPanel("area"),
        FieldRowPanel([FieldPanel("code"), FieldPanel("name")]),
        FieldPanel("description"),
        InlinePanel("level_descriptors", heading="What each level looks like", label="Level descriptor"),
        InlinePanel("evidence_rules", heading="Knowledge work that counts as evidence", label="Evidence"),
    ]
    search_fields = [index.SearchField("name"), index.SearchField("code"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["framework", "code"]
        constraints = [models.UniqueConstraint(fields=["framework", "code"], name="unique_competence_code")]

    def __str__(self):
        return f"{self.code} {self.name} ({self.framework})" if self.framework_id else f"{self.code} {self.name}"

    def clean(self):
        if self.area_id:
            clash = Competence.objects.filter(framework_id=self.area.framework_id, code=self.code).exclude(pk=self.pk)
            if clash.exists():
                raise ValidationError({"code": f"{self.code} is already used in {self.area.framework}."})

    def save(self, *args, **kwargs):
        self.framework_id = self.area.framework_id
        super().save(*args, **kwargs)


class CompetenceLevelDescriptor(Orderable):
    """What a competence looks like at one level."""

    competence = ParentalKey(Competence, on_delete=models.CASCADE, related_name="level_descriptors")
    level = models.PositiveSmallIntegerField()
    descriptor = models.TextField()

    panels = [FieldPanel("level"), FieldPanel("descriptor")]

    def __str__(self):
        return f"{self.competence_id} level {self.level}"


class CompetenceEvidenceRule(Orderable):
    """A kind of knowledge work recorded as evidence for a competence."""

    competence = ParentalKey(Competence, on_delete=models.CASCADE, related_name="evidence_rules")
    kind = models.CharField(max_length=30, choices=EvidenceKind.choices)

    panels = [FieldPanel("kind")]

    def __str__(self):
        return self.get_kind_display()


class Crosswalk(ClusterableModel):
    """A mapping between two frameworks, so records against either compare.

    Competence mappings pair a source competence with a target one; level
    mappings translate the source scale (e.g. 8 levels) to the target's (4).
    """

    name = models.CharField(max_length=200)
    source = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="crosswalks_from")
    target = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="crosswalks_to")
    notes = models.TextField(blank=True)

    panels = [
        FieldPanel("name"),
        FieldRowPanel([FieldPanel("source"), FieldPanel("target")]),
        FieldPanel("notes"),
        InlinePanel("level_mappings", heading="Levels", label="Level mapping"),
        InlinePanel("competence_mappings", heading="Competences", label="Competence mapping"),
    ]

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "target"], name="unique_crosswalk")]

    def __str__(self):
        return self.name

    def clean(self):
        if self.source_id and self.source_id == self.target_id:
            raise ValidationError({"target": "A crosswalk maps two different frameworks."})


class LevelMapping(Orderable):
    """Source level N counts as target level M."""

    crosswalk = ParentalKey(Crosswalk, on_delete=models.CASCADE, related_name="level_mappings")
    source_level = models.PositiveSmallIntegerField()
    target_level = models.PositiveSmallIntegerField()

    panels = [FieldRowPanel([FieldPanel("source_level"), FieldPanel("target_level")])]

    def __str__(self):
        return f"{self.source_level} → {self.target_level}"


class CompetenceMapping(Orderable):
    """A source competence corresponds to a target competence."""

    crosswalk = ParentalKey(Crosswalk, on_delete=models.CASCADE, related_name="competence_mappings")
    source_competence = models.ForeignKey(Competence, on_delete=models.CASCADE, related_name="+")
    target_competence = models.ForeignKey(Competence, on_delete=models.CASCADE, related_name="+")

    panels = [FieldRowPanel([FieldPanel("source_competence"), FieldPanel("target_competence")])]

    def __str__(self):
        return f"{self.source_competence_id} → {self.target_competence_id}"


class JobProfile(index.Indexed, ClusterableModel):
    """A role (e.g. "Policy officer") and the competence levels it requires."""

    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("description"),
        InlinePanel("requirements", heading="Required competence levels", label="Requirement"),
    ]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]
        verbose_name = "job profile"

    def __str__(self):
        return self.name


class JobProfileRequirement(Orderable):
    """The level of one competence a job profile requires."""

    job_profile = ParentalKey(JobProfile, on_delete=models.CASCADE, related_name="requirements")
    competence = models.ForeignKey(Competence, on_delete=models.CASCADE, related_name="required_by")
    level = models.PositiveSmallIntegerField()

    panels = [FieldRowPanel([FieldPanel("competence"), FieldPanel("level")])]

    class Meta(Orderable.Meta):
        constraints = [
            models.UniqueConstraint(fields=["job_profile", "competence"], name="unique_profile_requirement")
        ]

    def __str__(self):
        return f"{self.competence_id} ≥ {self.level}"

    def clean(self):
        if self.competence_id and self.level:
            top = self.competence.framework.max_level
            if not 1 <= self.level <= top:
                raise ValidationError({"level": f"Choose a level between 1 and {top} for this framework."})


class PageCompetence(models.Model):
    """A knowledge page supports a competence (drives "learn this" links and evidence)."""

    page = models.ForeignKey(
        "knowledge.KnowledgePage", on_delete=models.CASCADE, related_name="training_competences"
    )
    competence = models.ForeignKey(Competence, on_delete=models.CASCADE, related_name="page_links")
    note = models.CharField(max_length=255, blank=True)

    panels = [FieldPanel("page"), FieldPanel("competence"), FieldPanel("note")]

    class Meta:
        verbose_name = "page competence"
        constraints = [models.UniqueConstraint(fields=["page", "competence"], name="unique_page_competence")]

    def __str__(self):
        return f"{self.page} supports {self.competence}"

