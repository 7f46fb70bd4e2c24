"""Admin registration: taxonomy snippets, review tasks, the review action,
the "My content" dashboard panel, the freshness report and page listing."""

from django.db.models import Q
from django.urls import path, reverse
from django.utils import timezone
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail.admin.ui.menus.pages import PageMenuItem
from wagtail.admin.ui.tables import Column, DateColumn, UserColumn
from wagtail.admin.viewsets.pages import PageListingViewSet
from wagtail.log_actions import LogFormatter
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from . import admin_views, documents
from .freshness import Freshness
from .models import KnowledgePage, Notification, OrgUnit, ReviewTask, Topic
from .notify import unread_for
from .reports import can_view_report
from .review import AMENDMENT_ACTION, REVIEW_ACTION, can_review
from .subscriptions import admin as follow_admin


class TopicViewSet(SnippetViewSet):
    model = Topic
    icon = "tag"
    list_display = ["name", "slug"]
    search_fields = ["name"]


class OrgUnitViewSet(SnippetViewSet):
    model = OrgUnit
    icon = "group"
    list_display = ["name", "parent", "manager", "content_lead"]
    list_filter = ["parent"]
    search_fields = ["name"]


class TaxonomyGroup(SnippetViewSetGroup):
    menu_label = "Taxonomy"
    menu_icon = "folder-open-inverse"
    menu_order = 300
    items = (TopicViewSet, OrgUnitViewSet)


register_snippet(TaxonomyGroup)


class ReviewTaskViewSet(SnippetViewSet):
    """Review tasks: reassign the reviewer or move the due date."""

    model = ReviewTask
    icon = "tasks"
    menu_label = "Review tasks"
    menu_order = 305
    add_to_admin_menu = True
    list_display = ["page", "kind", "reviewer", "due_date", "completed_at", "outcome"]
    list_filter = ["kind", "outcome"]
    inspect_view_enabled = True


register_snippet(ReviewTaskViewSet)


# --- audit log -------------------------------------------------------------------
@hooks.register("register_log_actions")
def register_freshness_log_actions(actions):
    @actions.register_action(REVIEW_ACTION)
    class ReviewFormatter(LogFormatter):
        label = "Confirm still accurate"

        def format_message(self, log_entry):
            due = log_entry.data.get("next_review_due")
            return f"Confirmed still accurate; next review due {due}" if due else "Confirmed still accurate"

        def format_comment(self, log_entry):
            return log_entry.data.get("comment", "")

    @actions.register_action(AMENDMENT_ACTION)
    class AmendmentFormatter(LogFormatter):
        label = "Lesson amendment decided"

        def format_message(self, log_entry):
            made = log_entry.data.get("outcome") == ReviewTask.Outcome.AMENDED
            lesson = log_entry.data.get("lesson") or "a lesson"
            return f"Amendment proposed by “{lesson}” {'made' if made else 'not needed'}"

        def format_comment(self, log_entry):
            return log_entry.data.get("comment", "")


# --- the review action in page menus ------------------------------------------------
def _knowledge_page(page):
    if isinstance(page, KnowledgePage):
        return page
    if issubclass(page.specific_class or object, KnowledgePage):
        return page.specific_deferred
    return None


class ReviewMenuItem(PageMenuItem):
    label = "Confirm still accurate"
    icon_name = "tick"
    url_name = "knowledge_review"

    def is_shown(self, user):
        page = _knowledge_page(self.page)
        return page is not None and page.live and can_review(user, page)


@hooks.register("register_page_header_buttons")
def review_header_button(page, user, view_name, next_url=None):
    yield ReviewMenuItem(page=page, next_url=next_url, priority=12)


@hooks.register("register_page_listing_more_buttons")
def review_listing_button(page, user, next_url=None):
    yield ReviewMenuItem(page=page, next_url=next_url, priority=3)


@hooks.register("register_admin_urls")
def freshness_admin_urls():
    return [
        path("knowledge/review/<int:page_id>/", admin_views.ReviewView.as_view(), name="knowledge_review"),
        path("knowledge/amendments/<int:task_id>/", admin_views.resolve_amendment_view,
             name="knowledge_amendment_resolve"),
        path("knowledge/notifications/read/", admin_views.mark_notifications_read, name="knowledge_notifications_read"),
        path("reports/freshness/", admin_views.FreshnessReportView.as_view(), name="knowledge_freshness_report"),
        path("reports/freshness/results/", admin_views.FreshnessReportView.as_view(results_only=True),
             name="knowledge_freshness_report_results"),
        path("reports/deliveries/", follow_admin.delivery_report_view, name="knowledge_delivery_report"),
    ]


class FreshnessReportMenuItem(MenuItem):
    def is_shown(self, request):
        return can_view_report(request.user)


@hooks.register("register_reports_menu_item")
def freshness_report_menu_item():
    return FreshnessReportMenuItem("Freshness by unit", reverse("knowledge_freshness_report"), icon_name="time",
                                   order=650)


class DeliveryReportMenuItem(MenuItem):
    def is_shown(self, request):
        return follow_admin.can_view(request.user)


@hooks.register("register_reports_menu_item")
def delivery_report_menu_item():
    return DeliveryReportMenuItem("Notification deliveries", reverse("knowledge_delivery_report"), icon_name="mail",
                                  order=660)


# --- "My content" on the dashboard -------------------------------------------------
class MyContentPanel(Component):
    """What the signed-in owner has to review, with one-click review, and
    their unread notifications."""

    name = "knowledge_my_content"
    template_name = "knowledge/admin/my_content_panel.html"
    order = 50

    def __init__(self, user):
        self.user = user

    def get_context_data(self, parent_context):
        context = super().get_context_data(parent_context)
        user = self.user
        tasked = ReviewTask.objects.open().filter(reviewer=user).values("page_id")
        pages = (
            KnowledgePage.objects.live()
            .filter(Q(owner_user=user) | Q(pk__in=tasked))
            .filter(freshness__in=Freshness.ATTENTION)
            .select_related("unit")
            .order_by("review_due", "title")
        )
        groups = {state: [] for state in (Freshness.OVERDUE, Freshness.NEEDS_REVIEW, Freshness.DUE_SOON)}
        for page in pages[:60]:
            groups[page.freshness].append(page)
        context.update({
            "groups": [(state, Freshness.LABELS[state], items) for state, items in groups.items()],
            "total": pages.count(),
            "notifications": list(unread_for(user)),
            "today": timezone.localdate(),
            "request": parent_context["request"],
            "csrf_token": parent_context["csrf_token"],
        })
        return context

    def render_html(self, parent_context=None):
        user = self.user
        has_work = (
            KnowledgePage.objects.filter(owner_user=user).exists()
            or ReviewTask.objects.open().filter(reviewer=user).exists()
            or Notification.objects.filter(recipient=user, read_at__isnull=True).exists()
        )
        return super().render_html(parent_context) if has_work else ""


@hooks.register("construct_homepage_panels")
def add_my_content_panel(request, panels):
    panels.insert(0, MyContentPanel(request.user))


# --- knowledge pages with their freshness, in the page explorer -------------------------
class FreshnessColumn(Column):
    cell_template_name = "knowledge/admin/freshness_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["label"] = Freshness.LABELS.get(instance.freshness, instance.freshness)
        context["state"] = instance.freshness
        return context


class KnowledgePageListingViewSet(PageListingViewSet):
    """All knowledge pages, with freshness, review date and owner; filter
    by state, unit or owner (Pages › Knowledge pages)."""

    model = KnowledgePage
    icon = "doc-full"
    menu_label = "Knowledge pages"
    add_to_admin_menu = True
    menu_order = 110
    name = "knowledge_pages"
    columns = [
        *PageListingViewSet.columns,
        FreshnessColumn("freshness", label="Freshness", sort_key="freshness"),
        DateColumn("review_due", label="Review due", sort_key="review_due"),
        UserColumn("owner_user", label="Owner"),
    ]
    list_filter = ["freshness", "unit", "owner_user", "live"]

    def get_index_view_kwargs(self, **kwargs):
        # Knowledge pages are added in their section, as a policy, procedure or lesson.
        return super().get_index_view_kwargs(add_url_name=None, **kwargs)


@hooks.register("register_admin_viewset")
def register_knowledge_listing():
    return KnowledgePageListingViewSet()


# Documents inherit the audience of the pages that use them (documents.py).
hooks.register("before_serve_document", documents.refuse_unless_allowed)


@hooks.register("construct_page_chooser_queryset")
def chooser_lists_only_pages_the_user_may_view(pages, request):
    """The page chooser (citations, amendment targets) lists no page whose
    audience the user is not in: its title would be a leak (access.py)."""
    from .models.access import without_unviewable

    return without_unviewable(pages, request.user)
