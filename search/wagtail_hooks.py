"""Search in the Wagtail admin: synonyms, and the index health report."""

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from .models import Synonym
from .views_admin import IndexHealthView


class SynonymViewSet(SnippetViewSet):
    model = Synonym
    icon = "search"
    menu_label = "Search synonyms"
    menu_order = 310
    add_to_admin_menu = True
    list_display = ["terms", "note"]
    search_fields = ["terms"]


register_snippet(SynonymViewSet)


@hooks.register("register_admin_urls")
def register_admin_urls():
    return [path("reports/search-index/", IndexHealthView.as_view(), name="kmsearch_index_health")]


class IndexHealthMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("kmsearch.view_indexedpage")


@hooks.register("register_reports_menu_item")
def register_index_health_menu_item():
    return IndexHealthMenuItem("Search index health", reverse("kmsearch_index_health"), icon_name="search", order=700)


