"""The project's own admin screens: single sign-on's group mappings; the
content checker's configuration (kmsite/content_checks.py)."""

from wagtail import hooks
from wagtail.admin.userbar import ContentCheckerItem

from kmsite.content_checks import GovKMContentCheckerItem
from kmsite.sso.admin import GroupMappingViewSet


@hooks.register("register_admin_viewset")
def register_group_mappings():
    return GroupMappingViewSet("sso_group_mappings")


@hooks.register("construct_wagtail_userbar")
def use_govkm_content_checks(request, items, page):
    """Wagtail's content checker with GovKM's rules (kmsite/content_checks.py),
    in the userbar and in the editor's Checks panel alike."""
    items[:] = [
        GovKMContentCheckerItem(in_editor=item.in_editor, page=page)
        if isinstance(item, ContentCheckerItem) and not isinstance(item, GovKMContentCheckerItem) else item
        for item in items
    ]
