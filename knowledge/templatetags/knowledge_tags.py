from django import template

from ..freshness import Freshness, freshness_state

register = template.Library()


@register.inclusion_tag("knowledge/includes/freshness_badge.html")
def freshness_badge(page):
    state = freshness_state(page)
    return {
        "state": state,
        "label": Freshness.LABELS[state],
        "due": page.next_review_due,
        "reviewed": page.last_reviewed_at,
        "owner": page.owner_user,
    }


@register.inclusion_tag("knowledge/includes/state_badge.html")
def state_badge(state):
    return {"state": state, "label": Freshness.LABELS.get(state, state)}


@register.inclusion_tag("knowledge/includes/related.html", takes_context=True)
def related_guidance(context, page, limit=5):
    from search.service import SearchService

    request = context["request"]
    try:
        related = SearchService().related(page, request.user, limit=limit)
    except Exception:  # related links are a courtesy; never break the page
        related = []
    return {"related": related}
