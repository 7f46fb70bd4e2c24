"""The "Training" admin menu for HR: frameworks, curricula, people,
assignments, CSV import and a link to the reports."""

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from .admin_views import ImportJobView, ImportView
from .models import (
    Activity,
    Assignment,
    Competence,
    Crosswalk,
    Curriculum,
    Framework,
    JobProfile,
    Module,
    PageCompetence,
    StaffProfile,
)
from .permissions import IMPORT, can_view_reports

MENU_HOOK = "register_training_menu_item"


class FrameworkViewSet(SnippetViewSet):
    model = Framework
    icon = "list-ul"
    menu_label = "Frameworks"
    list_display = ["name", "version", "status", "published_on"]
    list_filter = ["status"]
    search_fields = ["name"]


class CompetenceViewSet(SnippetViewSet):
    model = Competence
    icon = "success"
    list_display = ["code", "name", "area", "framework"]
    list_filter = ["framework"]
    search_fields = ["name", "code"]


class CrosswalkViewSet(SnippetViewSet):
    model = Crosswalk
    icon = "resubmit"
    list_display = ["name", "source", "target"]


class JobProfileViewSet(SnippetViewSet):
    model = JobProfile
    icon = "user"
    menu_label = "Job profiles"
    list_display = ["name", "slug"]
    search_fields = ["name"]


class PageCompetenceViewSet(SnippetViewSet):
    model = PageCompetence
    icon = "link"
    menu_label = "Page competences"
    list_display = ["page", "competence", "note"]
    list_filter = ["competence__framework"]


class CurriculumViewSet(SnippetViewSet):
    model = Curriculum
    icon = "form"
    list_display = ["title", "is_open", "live", "certificate_validity_months"]
    list_filter = ["is_open", "live"]
    search_fields = ["title"]


class ModuleViewSet(SnippetViewSet):
    model = Module
    icon = "doc-full"
    list_display = ["title", "curriculum", "sort_order", "needs_review"]
    list_filter = ["curriculum", "needs_review"]
    search_fields = ["title"]


class ActivityViewSet(SnippetViewSet):
    model = Activity
    icon = "tasks"
    menu_label = "Activities & checks"
    list_display = ["title", "module", "kind"]
    list_filter = ["kind", "module__curriculum"]


class StaffProfileViewSet(SnippetViewSet):
    model = StaffProfile
    icon = "group"
    menu_label = "Staff profiles"
    list_display = ["user", "unit", "job_profile", "manager"]
    list_filter = ["unit", "job_profile"]
    search_fields = ["user__username", "user__last_name"]


class AssignmentViewSet(SnippetViewSet):
    model = Assignment
    icon = "date"
    list_display = ["__str__", "assignee_kind", "due_date", "active"]
    list_filter = ["assignee_kind", "active", "curriculum"]


class TrainingGroup(SnippetViewSetGroup):
    menu_label = "Training"
    menu_icon = "openquote"
    menu_order = 310
    submenu_hook = MENU_HOOK
    items = (
        FrameworkViewSet, CompetenceViewSet, CrosswalkViewSet, JobProfileViewSet, PageCompetenceViewSet,
        CurriculumViewSet, ModuleViewSet, ActivityViewSet, StaffProfileViewSet, AssignmentViewSet,
    )


register_snippet(TrainingGroup)


class PermissionMenuItem(MenuItem):
    def __init__(self, *args, check, **kwargs):
        super().__init__(*args, **kwargs)
        self.check = check

    def is_shown(self, request):
        return self.check(request.user)


@hooks.register(MENU_HOOK)
def import_menu_item():
    return PermissionMenuItem(
        "Import from CSV", reverse("training_import"), icon_name="upload", order=900,
        check=lambda user: user.has_perm(IMPORT),
    )


@hooks.register(MENU_HOOK)
def reports_menu_item():
    return PermissionMenuItem(
        "Reports", reverse("training:reports"), icon_name="table", order=910, check=can_view_reports
    )


@hooks.register("register_admin_urls")
def training_admin_urls():
    return [
        path("training/import/", ImportView.as_view(), name="training_import"),
        path("training/import/<int:pk>/", ImportJobView.as_view(), name="training_import_job"),
    ]


@hooks.register("search_learn_links")
def learn_links(page_ids, limit):
    """"Learn this" under search results (search/views.py): {page id:
    [(module URL, module title)]}, the live modules teaching each page."""
    from .teaching import modules_teaching_pages

    return {
        page_id: [(reverse("training:module", args=[m.slug]), m.title) for m in modules]
        for page_id, modules in modules_teaching_pages(page_ids, limit).items()
    }


@hooks.register("knowledge_page_asides")
def learn_this_aside(page, request):
    """"Learn this" below a knowledge page: the modules teaching it."""
    from django.template.loader import render_to_string

    from .templatetags.training_tags import learn_this

    return render_to_string("training/includes/learn_this.html", learn_this(page), request=request)
