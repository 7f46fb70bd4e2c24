"""Group mappings in the admin (Settings › Single sign-on groups).

Listing, adding, changing and deleting a mapping take the model's own
permissions (``kmsite.view_groupmapping`` and so on): superusers have them;
give them to others through a Wagtail group. A change applies to each
person at their next sign-in or session refresh. Mappings in
``KM_OIDC_GROUP_MAP`` (settings) apply as well (docs/sso.md).
"""

from wagtail.admin.panels import FieldPanel
from wagtail.admin.viewsets.model import ModelViewSet

from .models import GroupMapping


class GroupMappingViewSet(ModelViewSet):
    model = GroupMapping
    form_fields = ["idp_group", "group", "note"]
    panels = [FieldPanel("idp_group"), FieldPanel("group"), FieldPanel("note")]
    list_display = ["idp_group", "group", "note"]
    search_fields = ["idp_group", "group__name", "note"]
    icon = "group"
    menu_label = "Single sign-on groups"
    add_to_settings_menu = True
    copy_view_enabled = False
