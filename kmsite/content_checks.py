"""Wagtail's content checker, configured for GovKM's templates.

Wagtail runs axe-core in the userbar (on the site, for people who can edit)
and in the page editor's Checks panel, which shows the issues beside the
"Submit for review" action. Both take their configuration from the
``ContentCheckerItem`` in the userbar, which kmsite/wagtail_hooks.py swaps for
this one through the ``construct_wagtail_userbar`` hook (the mechanism
Wagtail documents). The checks are limited to what an editor can fix in the
page's content: the ``main`` element, less the parts every page shares
(feedback form, related guidance, learning links)."""

from django.utils.translation import gettext_lazy as _
from wagtail.admin.userbar import ContentCheckerItem

# Link text that says nothing of where the link goes, once case, spaces and
# trailing punctuation are ignored (GOV.UK content design: links).
VAGUE_LINK_TEXT = (
    r"^(click here|click|here|this|this link|link|this page|read more|more|find out more|learn more|"
    r"more info|more information|details|go|see here|download)$"
)


class GovKMContentCheckerItem(ContentCheckerItem):
    """``page``: the page shown, or None on GovKM's own views (learning,
    search), whose meta description no editor writes: there Wagtail's
    empty-meta-description check is left out."""

    def __init__(self, in_editor=False, page=None):
        super().__init__(in_editor=in_editor)
        self.page = page

    def get_axe_run_only(self, request):
        rules = super().get_axe_run_only(request)
        return rules if self.page is not None else [r for r in rules if r != "empty-meta-description"]

    axe_include = ["main"]
    axe_exclude = ["form.feedback", "aside.related", ".learn-this", "nav"]

    axe_run_only = [
        *ContentCheckerItem.axe_run_only,
        "image-alt",              # an image with no text alternative at all
        "govkm-link-text",        # "click here"
    ]

    axe_custom_rules = [
        *ContentCheckerItem.axe_custom_rules,
        {
            "id": "govkm-link-text",
            "impact": "serious",
            "selector": "a[href]",
            "tags": ["best-practice"],
            "any": ["govkm-check-link-text"],
            "enabled": True,
        },
    ]

    axe_custom_checks = [
        *ContentCheckerItem.axe_custom_checks,
        {"id": "govkm-check-link-text", "options": {"pattern": VAGUE_LINK_TEXT}},
    ]

    axe_messages = {
        **ContentCheckerItem.axe_messages,
        "image-alt": {
            "error_name": _("Image has no alternative text"),
            "help_text": _("Describe what the image shows, or mark it as decorative"),
        },
        "govkm-link-text": {
            "error_name": _("Link text does not say where it goes"),
            "help_text": _("Use words that describe the destination, not 'click here' or 'read more'"),
        },
    }

    class Media:
        # registers the JavaScript of govkm-check-link-text with the userbar
        js = ["kmsite/js/content-checks.js"]
