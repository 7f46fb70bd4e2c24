import logging

from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe
from wagtail import hooks

from ..access import viewer_facts
from ..freshness import Freshness, freshness_state
from ..models.access import viewable_ids
from ..policies import PolicyStatus
from ..reports import public_figures

register = template.Library()
logger = logging.getLogger("govkm.knowledge")

#: Wagtail hook: ``fn(page, user, limit) -> [results with url, title,
#: content_type]``, the pages closest to ``page`` that ``user`` may view.
#: The search app registers one (search/wagtail_hooks.py); the first hook
#: with an answer is used. Without one, a page shows no related guidance.
RELATED_PAGES_HOOK = "knowledge_related_pages"

#: Wagtail hook: ``fn(page, request) -> HTML`` (safe, escaped by its own
#: template), an aside other apps add below a knowledge page's body, such
#: as training's "Learn this" (training/wagtail_hooks.py). It renders
#: inside the cached page body, so it may show nothing that differs between
#: two viewers with the same access tokens.
PAGE_ASIDES_HOOK = "knowledge_page_asides"


@register.filter
def can_open_admin(user):
    """Whether to offer the admin (header link and Wagtail's user bar), from
    the viewer's cached facts rather than two permission queries a page."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or viewer_facts(user)["admin"]


def _flag_lines(flags, user):
    """Flag texts, naming only pages the visitor may see."""
    lines = []
    allowed = viewable_ids(user, [p for flag in flags for p in (flag.changed_page, flag.via_page)])
    for flag in flags:
        changed, via = flag.changed_page, flag.via_page
        if changed is not None and changed.pk in allowed and (
            via is None or flag.depth <= 1 or via.pk in allowed
        ):
            lines.append({"text": flag.flag_text(), "url": changed.url})
        else:
            when = timezone.localdate(flag.change.changed_at if flag.change else flag.created_at)
            lines.append({"text": f"A page it relies on changed on {when.day} {when:%B %Y}", "url": ""})
    return lines


@register.inclusion_tag("knowledge/includes/freshness_badge.html", takes_context=True)
def freshness_badge(context, page):
    """The page's freshness as a badge: state, review dates, owner, and why
    it needs review when a page it cites changed."""
    state = freshness_state(page)
    request = context.get("request")
    user = getattr(request, "user", None)
    flags = _flag_lines(page.open_flags(), user) if state == Freshness.NEEDS_REVIEW else []
    return {
        "state": state,
        "label": Freshness.LABELS[state],
        "due": page.next_review_due,
        "reviewed": page.last_reviewed_at,
        "owner": page.owner_user,
        "flags": flags,
    }


@register.inclusion_tag("knowledge/includes/state_badge.html")
def state_badge(state):
    """A freshness state or a policy's legal status, named in words (its
    colour is never the only carrier; a raw value such as "in_force" is not
    a name)."""
    label = Freshness.LABELS.get(state) or dict(PolicyStatus.choices).get(state, state)
    return {"state": state, "label": label}


@register.simple_tag(takes_context=True)
def public_freshness_figures(context):
    """The freshness figures (``reports.public_figures``) of the pages the
    visitor may see: ``{% public_freshness_figures as report %}``."""
    return public_figures(context["request"].user)


@register.inclusion_tag("knowledge/includes/related.html", takes_context=True)
def related_guidance(context, page, limit=5):
    user = context["request"].user
    for fn in hooks.get_hooks(RELATED_PAGES_HOOK):
        try:
            related = fn(page, user, limit=limit)
        except Exception:  # related links are a courtesy; never break the page
            logger.exception("related guidance for page %s could not be found", page.pk)
            continue
        if related:
            return {"related": related}
    return {"related": []}


@register.simple_tag(takes_context=True)
def page_asides(context, page):
    """What other apps add below a knowledge page (``PAGE_ASIDES_HOOK``)."""
    request = context.get("request")
    return mark_safe("".join(str(fn(page, request)) for fn in hooks.get_hooks(PAGE_ASIDES_HOOK)))  # noqa: S308


@register.tag("page_fragment")
def page_fragment(parser, token):
    """``{% page_fragment page %}...{% end_page_fragment %}``: the enclosed
    body, rendered once per page state and access scope and kept in the
    shared cache (``knowledge/fragments.py``). Put nothing in it that differs
    between two viewers with the same access tokens (a CSRF token, a name)."""
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError("page_fragment takes one argument: the page")
    nodelist = parser.parse(("end_page_fragment",))
    parser.delete_first_token()
    return PageFragmentNode(nodelist, parser.compile_filter(bits[1]))


class PageFragmentNode(template.Node):
    def __init__(self, nodelist, page):
        self.nodelist = nodelist
        self.page = page

    def render(self, context):
        from .. import fragments

        key = fragments.fragment_key(self.page.resolve(context), context.get("request"))
        if key is None:
            return self.nodelist.render(context)
        return fragments.get_or_render(key, lambda: self.nodelist.render(context))
