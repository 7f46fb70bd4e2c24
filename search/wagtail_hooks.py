"""Search in the Wagtail admin: synonyms, and the index health report."""

from django.urls import path, reverse
from laces.components import Component
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from .models import ContentRequest, Synonym
from .views_admin import AccountabilityView, IndexHealthView, PopularSearchesView, UnansweredReportView


class SynonymViewSet(SnippetViewSet):
    model = Synonym
    icon = "search"
    menu_label = "Search synonyms"
    menu_order = 310
    add_to_admin_menu = True
    list_display = ["terms", "note"]
    search_fields = ["terms"]


register_snippet(SynonymViewSet)


class ContentRequestViewSet(SnippetViewSet):
    model = ContentRequest
    icon = "help"
    menu_label = "Content requests"
    menu_order = 320
    add_to_admin_menu = True
    list_display = ["title", "unit", "due_date", "status", "search_count"]
    list_filter = ["status", "unit"]
    search_fields = ["title"]
    panels = [
        FieldPanel("title"),
        FieldPanel("unit"),
        FieldPanel("due_date"),
        FieldPanel("status"),
        FieldPanel("answer_page", help_text="Link the page that answers this request; publishing it closes the request"),
    ]


register_snippet(ContentRequestViewSet)


@hooks.register("register_admin_urls")
def register_admin_urls():
    return [
        path("reports/search-index/", IndexHealthView.as_view(), name="kmsearch_index_health"),
        path("reports/unanswered/", UnansweredReportView.as_view(), name="kmsearch_unanswered"),
        path("reports/accountability/", AccountabilityView.as_view(), name="kmsearch_accountability"),
        path("reports/popular-searches/", PopularSearchesView.as_view(), name="kmsearch_popular"),
    ]


class PermissionMenuItem(MenuItem):
    def __init__(self, *args, permission, **kwargs):
        super().__init__(*args, **kwargs)
        self.permission = permission

    def is_shown(self, request):
        return request.user.has_perm(self.permission)


@hooks.register("register_reports_menu_item")
def register_index_health_menu_item():
    return PermissionMenuItem("Search index health", reverse("kmsearch_index_health"), icon_name="search",
                              order=700, permission="kmsearch.view_indexedpage")


@hooks.register("register_reports_menu_item")
def register_unanswered_menu_item():
    return PermissionMenuItem("Unanswered searches", reverse("kmsearch_unanswered"), icon_name="help",
                              order=710, permission="kmsearch.add_contentrequest")


@hooks.register("register_reports_menu_item")
def register_accountability_menu_item():
    return PermissionMenuItem("Guidance shown to officers", reverse("kmsearch_accountability"), icon_name="doc-full",
                              order=720, permission="kmsearch.view_accountability")


@hooks.register("before_serve_page")
def record_page_opened(page, request, serve_args, serve_kwargs):
    from .analytics import record_opened

    record_opened(request.user, page)




class _DashboardPanel(Component):
    order = 150

    def __init__(self, request):
        self.request = request


class ContentRequestsPanel(_DashboardPanel):
    """Open content requests for the units the user manages or leads."""

    name = "govkm_content_requests"
    template_name = "kmsearch/admin/panel_requests.html"

    def get_context_data(self, parent_context=None):
        from django.db.models import Q

        user = self.request.user
        units = Q(unit__manager=user) | Q(unit__content_lead=user)
        profile_unit = getattr(getattr(user, "staff_profile", None), "unit_id", None)
        if profile_unit:
            units |= Q(unit_id=profile_unit)
        requests = ContentRequest.objects.filter(units, status=ContentRequest.Status.OPEN).select_related("unit")
        return {"requests": list(requests.order_by("due_date")[:20])}


class PageFeedbackPanel(_DashboardPanel):
    """How readers rated the pages this user owns, on the page and on the
    search page's answer card (answers that failed are counted apart)."""

    name = "govkm_page_feedback"
    template_name = "kmsearch/admin/panel_feedback.html"
    order = 160

    def get_context_data(self, parent_context=None):
        from django.db.models import Count, Q

        from knowledge.models import KnowledgePage

        pages = (
            KnowledgePage.objects.filter(owner_user=self.request.user)
            .annotate(yes=Count("feedback", filter=Q(feedback__helpful=True)),
                      no=Count("feedback", filter=Q(feedback__helpful=False)),
                      answer_no=Count("feedback", filter=Q(feedback__helpful=False, feedback__kind="answer")))
            .filter(Q(yes__gt=0) | Q(no__gt=0))
            .order_by("-no", "title")[:15]
        )
        return {"pages": pages}


@hooks.register("construct_homepage_panels")
def add_search_panels(request, panels):
    panels.append(ContentRequestsPanel(request))
    panels.append(PageFeedbackPanel(request))


@hooks.register("register_reports_menu_item")
def register_popular_menu_item():
    return PermissionMenuItem("Popular searches", reverse("kmsearch_popular"), icon_name="search",
                              order=715, permission="kmsearch.add_hiddensearchterm")


@hooks.register("knowledge_related_pages")
def related_pages(page, user, limit=5):
    """"Related guidance" on knowledge pages (knowledge_tags.related_guidance)."""
    from .service import SearchService

    return SearchService().related(page, user, limit=limit)
