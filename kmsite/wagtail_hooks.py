"""The project's own admin screens: single sign-on's group mappings."""

from wagtail import hooks

from kmsite.sso.admin import GroupMappingViewSet


@hooks.register("register_admin_viewset")
def register_group_mappings():
    return GroupMappingViewSet("sso_group_mappings")
