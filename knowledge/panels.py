"""Admin panels of knowledge pages that show more than a field.

A panel here imports nothing of this app: the page models use it, and what
it shows comes from its template (``{% follower_count %}`` in
``follow_tags``, which asks ``subscriptions.follow``), so the models never
import the features built on them.
"""

from wagtail.admin.panels import Panel


class FollowersPanel(Panel):
    """How many people follow the page, directly or through its topics,
    units or content type: shown before an owner publishes a material change
    (knowledge pages' "This change" tab)."""

    class BoundPanel(Panel.BoundPanel):
        template_name = "knowledge/admin/followers_panel.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context["page"] = self.instance
            return context
