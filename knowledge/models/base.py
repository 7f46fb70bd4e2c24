"""The concrete base every knowledge page shares, with its metadata.

``KnowledgePage`` is a concrete (multi-table) page model so that freshness,
search and reports can query every policy, procedure and lesson in one
queryset, and so that citations can point at any of them.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.models import Orderable, Page
from wagtail.search import index


class Audience(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal (staff who are signed in)"
    RESTRICTED = "restricted", "Restricted (cleared groups only)"


class CitationRelation(models.TextChoices):
    REFERENCES = "references", "References"
    IMPLEMENTS = "implements", "Implements"
    DERIVED_FROM = "derived_from", "Derived from"
    AMENDS = "amends", "Amends"
    SUPERSEDES = "supersedes", "Supersedes"


def add_months(day, months):
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    # Clamp to the month's last day (31 January + 1 month = 28/29 February).
    for candidate in (31, 30, 29, 28):
        if day.day >= candidate or candidate == 28:
            try:
                return day.replace(year=year, month=month, day=min(day.day, candidate))
            except ValueError:
                continue
    raise AssertionError("unreachable")


class KnowledgePage(Page):
    """Metadata shared by policies, procedures and lessons learned."""

    default_review_interval_months = 12

    summary = models.TextField(
        help_text="Two or three sentences: what this is and who it is for. Shown in listings and search."
    )
    topics = ParentalManyToManyField("knowledge.Topic", blank=True, related_name="pages")
    unit = models.ForeignKey(
        "knowledge.OrgUnit",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pages",
        verbose_name="owning unit",
    )
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_knowledge",
        verbose_name="content owner",
        help_text="Accountable for keeping this page accurate",
    )
    audience = models.CharField(
        max_length=16,
        choices=Audience.choices,
        default=Audience.INTERNAL,
        help_text="Internal and restricted pages get a matching view restriction when published",
    )
    review_interval_months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Leave empty for this content type's default"
    )
    last_reviewed_at = models.DateField(
        null=True, blank=True, verbose_name="last reviewed", help_text="Set when an owner confirms the page is accurate"
    )

    metadata_panels = [
        FieldPanel("summary"),
        MultiFieldPanel(
            [
                FieldPanel("unit"),
                FieldPanel("owner_user"),
                FieldPanel("audience"),
                FieldPanel("topics"),
            ],
            heading="Ownership and audience",
        ),
        MultiFieldPanel(
            [FieldPanel("review_interval_months"), FieldPanel("last_reviewed_at")],
            heading="Review cycle",
        ),
    ]
    relation_panels = [
        InlinePanel("citations", heading="Cites", label="Citation"),
        InlinePanel("attachments", heading="Attachments", label="Attachment"),
    ]

    search_fields = Page.search_fields + [
        index.SearchField("summary"),
        index.FilterField("audience"),
    ]

    is_creatable = False

    class Meta:
        verbose_name = "knowledge page"

    # --- review cycle ----------------------------------------------------
    @property
    def effective_review_interval(self):
        return self.review_interval_months or self.specific_class.default_review_interval_months

    @property
    def next_review_due(self):
        start = self.last_reviewed_at or (
            self.first_published_at.date() if self.first_published_at else None
        )
        if start is None:
            return None
        return add_months(start, self.effective_review_interval)

    def is_overdue(self, today=None):
        due = self.next_review_due
        return due is not None and due < (today or timezone.localdate())

    # --- citations -------------------------------------------------------
    def cited_pages(self):
        """(relation label, page) for each live page this page cites."""
        links = self.citations.select_related("target").order_by("sort_order")
        return [(c.get_relation_display(), c.target) for c in links if c.target_id and c.target.live]

    def citing_pages(self):
        """(relation label, page) for each live page that cites this one."""
        links = Citation.objects.filter(target=self, page__live=True).select_related("page")
        return [(c.get_relation_display(), c.page) for c in links]

    @property
    def content_type_label(self):
        return self.specific_class._meta.verbose_name.capitalize()

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["cites"] = _visible(self.cited_pages(), request)
        context["cited_by"] = _visible(self.citing_pages(), request)
        return context


def _visible(pairs, request):
    """Drop linked pages the visitor may not view (restricted pages stay secret)."""
    from ..access import user_can_view_page

    return [(label, page) for label, page in pairs if user_can_view_page(request.user, page)]


class Citation(Orderable):
    """A typed link from one knowledge page to another it depends on."""

    page = ParentalKey(KnowledgePage, on_delete=models.CASCADE, related_name="citations")
    target = models.ForeignKey(
        KnowledgePage, on_delete=models.CASCADE, related_name="incoming_citations"
    )
    relation = models.CharField(
        max_length=20, choices=CitationRelation.choices, default=CitationRelation.REFERENCES
    )
    note = models.CharField(max_length=255, blank=True)

    panels = [FieldPanel("target"), FieldPanel("relation"), FieldPanel("note")]

    class Meta(Orderable.Meta):
        constraints = [
            models.UniqueConstraint(fields=["page", "target", "relation"], name="unique_citation")
        ]

    def __str__(self):
        return f"{self.page_id} {self.relation} {self.target_id}"


class PageAttachment(Orderable):
    """A document (PDF, DOCX, ODT...) attached to a page; indexed with it."""

    page = ParentalKey(KnowledgePage, on_delete=models.CASCADE, related_name="attachments")
    document = models.ForeignKey(
        "wagtaildocs.Document", on_delete=models.CASCADE, related_name="+"
    )
    label = models.CharField(max_length=255, blank=True)

    panels = [FieldPanel("document"), FieldPanel("label")]

    def __str__(self):
        return self.label or self.document.title
