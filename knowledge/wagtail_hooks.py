"""Admin registration for the knowledge taxonomy."""

from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from .models import OrgUnit, Topic


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
