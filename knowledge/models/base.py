"""The concrete base every knowledge page shares, with its metadata.

``KnowledgePage`` is a concrete (multi-table) page model so that freshness,
search and reports can query every policy, procedure and lesson in one
queryset, and so that citations can point at any of them.
"""

from django import forms
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from wagtail.admin.forms import WagtailAdminPageForm
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.models import Orderable, Page
from wagtail.search import index

from ..access import in_restricted_section
from ..freshness import Freshness, add_months, freshness_state, review_due_date
from ..panels import FollowersPanel
from .access import viewable_ids
from .review import OwnershipTransfer, ReviewTask

__all__ = ["Audience", "Citation", "CitationRelation", "KnowledgePage", "KnowledgePageForm", "PageAttachment",
           "add_months"]


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


class KnowledgePageForm(WagtailAdminPageForm):
    """A new change starts with "material change" unticked: a change is
    material for one revision, never by inheritance from the last published
    one. A pending draft (for example one submitted for approval) keeps its
    tick and summary, so an approver who edits it before publishing does not
    silently drop the editor's material change."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pending = self.instance.pk and self.instance.has_unpublished_changes
        if "material_change" in self.fields and not pending:
            self.initial["material_change"] = False
            self.initial["change_summary"] = ""

    def clean(self):
        cleaned = super().clean()
        self._check_restricted_section(cleaned)
        if cleaned.get("material_change") and not (cleaned.get("change_summary") or "").strip():
            self.add_error("change_summary", forms.ValidationError(
                "Say what changed in one or two sentences: it is sent to the owners of every page that cites this "
                "one and to the page's followers."))
        return cleaned


    def _check_restricted_section(self, cleaned):
        """Restricted guidance sits in a restricted section, where only
        cleared groups hold page permissions (knowledge/roles.py): a page
        made restricted elsewhere would stay open to Editors in the admin."""
        if cleaned.get("audience") != Audience.RESTRICTED:
            return
        parent = getattr(self, "parent_page", None) or (self.instance.get_parent() if self.instance.pk else None)
        if parent is not None and not in_restricted_section(parent):
            self.add_error("audience", forms.ValidationError(
                "Restricted guidance belongs in a restricted section (such as Restricted guidance), where only "
                "cleared groups can edit it: create it there, or move this page there first."))


class KnowledgePage(Page):
    """Metadata shared by policies, procedures and lessons learned."""

    default_review_interval_months = 12
    # Review state belongs to the page, not to a revision: publishing an
    # older draft must not undo a review recorded since.
    review_state_fields = ("last_reviewed_at", "review_due", "freshness")

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
    review_due = models.DateField(null=True, blank=True, editable=False, db_index=True, verbose_name="review due")
    freshness = models.CharField(
        max_length=16, choices=Freshness.CHOICES, default=Freshness.FRESH, editable=False, db_index=True,
        help_text="Stored by the freshness sweep, reviews and publication; listings and reports read it",
    )
    material_change = models.BooleanField(
        default=False,
        verbose_name="material change",
        help_text="Tick when this change alters what readers must do: pages citing this one are flagged for review "
        "and their owners told. Leave unticked for corrections and wording.",
    )
    change_summary = models.CharField(
        max_length=255, blank=True, verbose_name="what changed",
        help_text="One or two sentences, required for a material change: sent with the review flags and to "
        "everyone who follows the page"
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
            [FieldPanel("review_interval_months"), FieldPanel("last_reviewed_at", read_only=True)],
            heading="Review cycle",
        ),
    ]
    change_panels = [
        MultiFieldPanel(
            [FieldPanel("material_change"), FieldPanel("change_summary"), FollowersPanel(heading="Followers")],
            heading="This change",
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

    base_form_class = KnowledgePageForm
    is_creatable = False

    class Meta:
        verbose_name = "knowledge page"

    # --- review cycle ----------------------------------------------------
    @property
    def effective_review_interval(self):
        return self.review_interval_months or self.specific_class.default_review_interval_months

    @property
    def next_review_due(self):
        return review_due_date(self.last_reviewed_at, self.first_published_at, self.effective_review_interval)

    def is_overdue(self, today=None):
        due = self.next_review_due
        return due is not None and due < (today or timezone.localdate())

    def has_open_flags(self):
        """Whether the page awaits review because a page it cites changed."""
        return ReviewTask.objects.open().filter(page_id=self.pk, kind=ReviewTask.Kind.CITED_CHANGE).exists()

    def open_flags(self):
        """The open "cited page changed" flags of the page, newest first."""
        return list(
            ReviewTask.objects.open()
            .filter(page_id=self.pk, kind=ReviewTask.Kind.CITED_CHANGE)
            .select_related("changed_page", "via_page")
            .order_by("-created_at")
        )

    def save(self, *args, **kwargs):
        self.review_due = self.next_review_due
        self.freshness = freshness_state(self) if self.live else Freshness.FRESH
        return super().save(*args, **kwargs)

    def with_content_json(self, content):
        """A revision brings its content, not the page's review state: that is
        read from the database, since ``self`` may be an object held in memory
        since before a review or hand-over."""
        obj = super().with_content_json(content)
        stored = KnowledgePage.objects.filter(pk=self.pk).values(*self.review_state_fields, "owner_user_id").first()
        if stored is None:
            return obj
        for name in self.review_state_fields:
            setattr(obj, name, stored[name])
        if obj.owner_user_id not in (None, stored["owner_user_id"]):
            # A page passed on when its owner left or moved is not handed
            # back by publishing a revision written before the hand-over.
            if OwnershipTransfer.objects.filter(page_id=self.pk, from_user_id=obj.owner_user_id).exists():
                obj.owner_user_id = stored["owner_user_id"]
        return obj

    # --- citations -------------------------------------------------------
    def _outgoing_citations(self, relation=None):
        links = self.citations.select_related("target").order_by("sort_order")
        if relation is not None:
            links = links.filter(relation=relation)
        return [c for c in links if c.target_id and c.target.live]

    def _incoming_citations(self):
        return list(Citation.objects.filter(target=self, page__live=True).select_related("page"))

    def cited_pages(self, relation=None):
        """(relation label, page) for each live page this page cites (only
        those cited with ``relation``, if given)."""
        return [(c.get_relation_display(), c.target) for c in self._outgoing_citations(relation)]

    def citing_pages(self):
        """(relation label, page) for each live page that cites this one."""
        return [(c.get_relation_display(), c.page) for c in self._incoming_citations()]

    def visible_citations(self, request):
        """This page's citations both ways, only to and from pages the
        visitor may view: one query each way and one, for both, on the
        stored access tokens."""
        outgoing, incoming = self._outgoing_citations(), self._incoming_citations()
        allowed = _viewable_ids([c.target for c in outgoing] + [c.page for c in incoming], request)
        return VisibleCitations(
            [c for c in outgoing if c.target_id in allowed], [c for c in incoming if c.page_id in allowed]
        )

    @property
    def content_type_label(self):
        return self.specific_class._meta.verbose_name.capitalize()

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        # Lazy: read only when the body is rendered, not when it comes from
        # the page fragment cache (knowledge/fragments.py).
        citations = context["citations"] = SimpleLazyObject(lambda: self.visible_citations(request))
        context["cites"] = SimpleLazyObject(lambda: citations.cites)
        context["cited_by"] = SimpleLazyObject(lambda: citations.cited_by)
        return context


class VisibleCitations:
    """A page's citations as one visitor may see them (``KnowledgePage.visible_citations``)."""

    def __init__(self, outgoing, incoming):
        self.outgoing, self.incoming = outgoing, incoming  # Citation rows

    @property
    def cites(self):
        """(relation label, page) for each page cited, in the page's order."""
        return [(c.get_relation_display(), c.target) for c in self.outgoing]

    @property
    def cited_by(self):
        """(relation label, page) for each page that cites this one."""
        return [(c.get_relation_display(), c.page) for c in self.incoming]

    def targets(self, relation):
        """The pages cited with ``relation``."""
        return [c.target for c in self.outgoing if c.relation == relation]


def _viewable_ids(pages, request):
    """The ids of those ``pages`` the visitor may view (``models.access.viewable_ids``)."""
    return viewable_ids(request.user, pages)


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
