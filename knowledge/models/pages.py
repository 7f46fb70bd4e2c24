"""Page types: the three kinds of knowledge and the pages that list them."""

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import models
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, ObjectList, PageChooserPanel, TabbedInterface
from wagtail.contrib.routable_page.models import RoutablePageMixin, path
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from ..blocks import RICH_FEATURES, BodyBlock, StepsBlock
from ..policies import PolicyStatus, in_force_on, parse_day, supersession_chain
from .access import viewable_ids, viewable_pages, without_unviewable
from .base import KnowledgePage
from .taxonomy import Topic

KNOWLEDGE_TYPES = ["knowledge.PolicyPage", "knowledge.ProcedurePage", "knowledge.LessonLearnedPage"]


def _tabs(content_panels):
    return TabbedInterface(
        [
            ObjectList(content_panels + KnowledgePage.change_panels, heading="Content"),
            ObjectList(KnowledgePage.metadata_panels, heading="Metadata"),
            ObjectList(KnowledgePage.relation_panels, heading="Cites & attachments"),
            ObjectList(Page.promote_panels, heading="Promote"),
            ObjectList(Page.settings_panels, heading="Settings"),
        ]
    )


def visible_knowledge(request):
    """Live knowledge pages this visitor may view, most recently updated first."""
    return viewable_pages(KnowledgePage.objects.live(), request.user)


class HomePage(RoutablePageMixin, Page):
    """The front door: a search box first, then what changed and where to
    look. At /freshness/ it shows the organisation's freshness figures."""

    introduction = models.TextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("introduction")]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["knowledge.SectionIndexPage", "knowledge.TopicIndexPage"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        pages = visible_knowledge(request)
        context["recently_updated"] = pages.order_by("-last_published_at")[:8].specific()
        context["popular_topics"] = (
            Topic.objects.filter(pages__in=pages)
            .annotate(page_count=Count("pages", distinct=True))
            .order_by("-page_count", "name")[:12]
        )
        # a restricted section is not even named to those outside its audience
        context["sections"] = without_unviewable(SectionIndexPage.objects.live().child_of(self), request.user)
        context["topics_index"] = TopicIndexPage.objects.live().child_of(self).first()
        return context

    @path("freshness/")
    def freshness(self, request):
        """How current the guidance is; the template asks for the figures
        the visitor may see (``{% public_freshness_figures %}``)."""
        return TemplateResponse(request, "knowledge/freshness_figures.html", {"page": self, "self": self})


class SectionIndexPage(RoutablePageMixin, Page):
    """A section (Policies, Procedures, Lessons learned) listing its pages.
    A section holding policies answers /in-force/?date=YYYY-MM-DD."""

    introduction = models.TextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("introduction")]

    parent_page_types = ["knowledge.HomePage"]
    subpage_types = KNOWLEDGE_TYPES

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        section_pages = viewable_pages(KnowledgePage.objects.live().child_of(self), request.user)
        context["topics"] = Topic.objects.filter(pages__in=section_pages).distinct()
        topic_slug = request.GET.get("topic", "")
        pages = section_pages.filter(topics__slug=topic_slug) if topic_slug else section_pages
        pages = pages.order_by("title").specific().select_related("unit", "owner_user")
        context["page_obj"] = Paginator(pages, 25).get_page(request.GET.get("page"))
        context["active_topic"] = topic_slug
        return context

    @path("in-force/")
    def in_force(self, request):
        if not PolicyPage.objects.child_of(self).exists():
            raise Http404("This section holds no policies")
        today = timezone.localdate()
        error = ""
        try:
            day = parse_day(request.GET.get("date"), today)
        except ValueError:
            day, error = today, "Enter the date as YYYY-MM-DD, for example 2024-05-01."
        policies = viewable_pages(in_force_on(day, PolicyPage.objects.live().child_of(self)), request.user)
        context = {
            "page": self, "self": self, "day": day, "today": today, "date_error": error,
            "policies": policies.order_by("reference_number").select_related("unit"),
        }
        return TemplateResponse(request, "knowledge/policies_in_force.html", context)


class TopicIndexPage(RoutablePageMixin, Page):
    """Lists every topic, and at /<topic-slug>/ the pages on that topic."""

    introduction = models.TextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("introduction")]

    parent_page_types = ["knowledge.HomePage"]
    subpage_types = []
    max_count = 1

    @path("")
    def topic_list(self, request):
        pages = visible_knowledge(request)
        topics = Topic.objects.annotate(
            page_count=Count("pages", filter=Q(pages__in=pages), distinct=True)
        )
        return self.render(request, context_overrides={"topics": topics})

    @path("<slug:slug>/")
    def topic_detail(self, request, slug):
        topic = get_object_or_404(Topic, slug=slug)
        pages = visible_knowledge(request).filter(topics=topic).order_by("title").specific()
        paginator = Paginator(pages, 25)
        return self.render(
            request,
            template="knowledge/topic_detail.html",
            context_overrides={"topic": topic, "page_obj": paginator.get_page(request.GET.get("page"))},
        )


class PolicyPage(KnowledgePage):
    """A policy: what the organisation has decided, with its legal effect."""

    default_review_interval_months = 12

    reference_number = models.CharField(max_length=40, unique=True, help_text="e.g. POL-PRC-004")
    status = models.CharField(max_length=16, choices=PolicyStatus.choices, default=PolicyStatus.DRAFT)
    effective_date = models.DateField(null=True, blank=True, verbose_name="effective from")
    effective_to = models.DateField(null=True, blank=True, help_text="Leave empty while in force")
    supersedes = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="superseded_by_set",
        help_text="The earlier policy this one replaces",
    )
    legal_basis = models.CharField(max_length=255, blank=True)
    body = StreamField(BodyBlock(), blank=True)

    content_panels = Page.content_panels + [
        MultiFieldPanel(
            [
                FieldPanel("reference_number"),
                FieldPanel("status"),
                FieldPanel("effective_date"),
                FieldPanel("effective_to"),
                FieldPanel("supersedes"),
                FieldPanel("legal_basis"),
            ],
            heading="Legal status",
        ),
        FieldPanel("body"),
    ]
    edit_handler = _tabs(content_panels)

    search_fields = KnowledgePage.search_fields + [
        index.SearchField("reference_number", boost=3),
        index.SearchField("body"),
        index.FilterField("status"),
    ]

    parent_page_types = ["knowledge.SectionIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = "policy"
        verbose_name_plural = "policies"

    @property
    def superseded_by(self):
        return self.superseded_by_set.live().order_by("-effective_date").first()

    @property
    def is_current(self):
        return self.status == PolicyStatus.IN_FORCE

    def superseded_in_force(self, today):
        """Whether a live successor has taken effect (superseded in fact,
        whatever this page's own status says)."""
        if not self.pk:
            return False
        return self.superseded_by_set.live().filter(
            status=PolicyStatus.IN_FORCE, effective_date__isnull=False, effective_date__lte=today
        ).exists()

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)

        # Every policy named on this page (the chain of versions, the one
        # this supersedes, its current successor) is named only if the
        # visitor may view it (models/access.py, viewable_ids): one query for all.
        def named_policies():
            chain = supersession_chain(self)
            successors = list(self.superseded_by_set.live().order_by("-effective_date", "-pk"))
            supersedes = self.supersedes
            allowed = viewable_ids(request.user, [link.policy for link in chain] + successors + [supersedes])
            visible = [link for link in chain if link.is_current_page or link.policy.pk in allowed]
            return {
                "chain": visible if len(visible) > 1 else [],
                "successor": next((p for p in successors if p.pk in allowed), None),
                "supersedes": supersedes if supersedes is not None and supersedes.pk in allowed else None,
            }

        named = SimpleLazyObject(named_policies)  # lazy: see KnowledgePage.get_context
        context["chain"] = SimpleLazyObject(lambda: named["chain"])
        context["visible_successor"] = SimpleLazyObject(lambda: named["successor"])
        context["visible_supersedes"] = SimpleLazyObject(lambda: named["supersedes"])
        try:
            day = parse_day(request.GET.get("date"))
        except ValueError:
            day, context["date_error"] = None, "Enter the date as YYYY-MM-DD."
        if day is not None:
            context["asked_day"] = day
            context["in_force_then"] = next((link.policy for link in context["chain"] if link.covers(day)), None)
        return context


class ProcedurePage(KnowledgePage):
    """A procedure: the ordered steps to carry out a policy."""

    default_review_interval_months = 6

    purpose = RichTextField(features=RICH_FEATURES)
    responsible_role = models.CharField(max_length=120)
    steps = StreamField(StepsBlock(), help_text="In the order they are carried out")

    content_panels = Page.content_panels + [
        FieldPanel("purpose"),
        FieldPanel("responsible_role"),
        FieldPanel("steps"),
    ]
    edit_handler = _tabs(content_panels)

    search_fields = KnowledgePage.search_fields + [
        index.SearchField("purpose"),
        index.SearchField("steps"),
        index.SearchField("responsible_role"),
    ]

    parent_page_types = ["knowledge.SectionIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = "procedure"

    def get_context(self, request, *args, **kwargs):
        from .base import CitationRelation

        context = super().get_context(request, *args, **kwargs)
        # Only the policies the viewer may see (a restricted policy's title
        # is itself restricted), from the citations the page lists anyway;
        # lazy, as in KnowledgePage.get_context.
        citations = context["citations"]
        context["implements"] = SimpleLazyObject(lambda: citations.targets(CitationRelation.IMPLEMENTS))
        return context


class LessonLearnedPage(KnowledgePage):
    """What a project or event taught, so the next team does not relearn it."""

    default_review_interval_months = 24

    project = models.CharField(max_length=200, verbose_name="project or event")
    event_date = models.DateField()
    context = RichTextField(features=RICH_FEATURES)
    what_happened = RichTextField(features=RICH_FEATURES)
    what_worked = RichTextField(features=RICH_FEATURES, blank=True)
    what_did_not = RichTextField(features=RICH_FEATURES, blank=True, verbose_name="what did not work")
    recommendations = RichTextField(features=RICH_FEATURES)
    amendment_target = models.ForeignKey(
        KnowledgePage,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="amendment_proposals",
        verbose_name="propose an amendment to",
        help_text="The procedure or policy this lesson says should change; its owner gets a review task",
    )
    proposed_amendment = models.TextField(blank=True, help_text="What should change, and why")

    content_panels = Page.content_panels + [
        FieldPanel("project"),
        FieldPanel("event_date"),
        FieldPanel("context"),
        FieldPanel("what_happened"),
        FieldPanel("what_worked"),
        FieldPanel("what_did_not"),
        FieldPanel("recommendations"),
        MultiFieldPanel(
            [
                PageChooserPanel("amendment_target", ["knowledge.PolicyPage", "knowledge.ProcedurePage"]),
                FieldPanel("proposed_amendment"),
            ],
            heading="Close the loop",
        ),
    ]
    edit_handler = _tabs(content_panels)

    search_fields = KnowledgePage.search_fields + [
        index.SearchField("project"),
        index.SearchField("context"),
        index.SearchField("what_happened"),
        index.SearchField("recommendations"),
    ]

    parent_page_types = ["knowledge.SectionIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = "lesson learned"
        verbose_name_plural = "lessons learned"

    def clean(self):
        super().clean()
        target = self.amendment_target
        if target is not None and target.specific_class not in (PolicyPage, ProcedurePage):
            raise ValidationError({"amendment_target": "Choose a policy or a procedure."})
        if target is not None and not self.proposed_amendment.strip():
            raise ValidationError({"proposed_amendment": "Say what should change."})

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["target_visible"] = SimpleLazyObject(
            lambda: self.amendment_target_id in viewable_ids(request.user, [self.amendment_target]))
        return context

    def amendment_status(self):
        """The review task opened for this lesson's proposal, if any."""
        if self.amendment_target_id is None:
            return None
        return self.amendment_tasks.filter(page_id=self.amendment_target_id).order_by("-created_at").first()
