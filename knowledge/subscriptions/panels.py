"""The editor's "who will be told" panel (knowledge pages' "This change" tab)."""

from wagtail.admin.panels import Panel


class FollowersPanel(Panel):
    """How many people follow the page, directly or through its topics,
    units or content type: shown before an owner publishes a material change."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "knowledge/admin/followers_panel.html"

        def get_context_data(self, parent_context=None):
            from .follow import follower_count

            context = super().get_context_data(parent_context)
            context["count"] = follower_count(self.instance) if self.instance.pk else None
            return context
