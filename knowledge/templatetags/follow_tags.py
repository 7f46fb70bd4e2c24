"""Follow buttons (knowledge/subscriptions). Rendered outside the cached
page fragments: they hold the visitor's CSRF token and state."""

from django import template

from ..models import OrgUnit, Subscription, Topic
from ..subscriptions.follow import follower_count as _follower_count

register = template.Library()


@register.simple_tag
def follower_count(page):
    """How many people would be told of a change to ``page`` (None for a
    page not saved yet): the editor's followers panel (knowledge/panels.py)."""
    return _follower_count(page) if getattr(page, "pk", None) else None


def _button(request, kind, target, label, key):
    following = bool(request.user.is_authenticated and
                     Subscription.objects.filter(user=request.user, target_key=key, paused=False).exists())
    return {"request": request, "kind": kind, "target": target, "label": label, "following": following}


@register.inclusion_tag("knowledge/includes/follow_button.html", takes_context=True)
def follow_button(context, kind, obj, label=""):
    request = context["request"]
    key = Subscription.make_key(kind, obj.pk)
    return _button(request, kind, obj.pk, label or str(obj), key)


@register.inclusion_tag("knowledge/includes/follow_search_buttons.html", takes_context=True)
def follow_search_buttons(context):
    """Follow this search, and each topic or unit it is filtered by."""
    request = context["request"]
    if not request.user.is_authenticated:
        return {"buttons": []}
    buttons = []
    query = " ".join(request.GET.get("q", "").split())
    if query:
        buttons.append(_button(request, "search", query, f"the search “{query}”",
                               Subscription.make_key("search", query=query)))
    for value in request.GET.getlist("topic"):
        topic = Topic.objects.filter(slug=value).first() or Topic.objects.filter(name=value).first()
        if topic:
            buttons.append(_button(request, "topic", topic.pk, f"the topic {topic.name}",
                                   Subscription.make_key("topic", topic.pk)))
    for value in request.GET.getlist("unit"):
        unit = OrgUnit.objects.filter(slug=value).first() or OrgUnit.objects.filter(name=value).first()
        if unit:
            buttons.append(_button(request, "unit", unit.pk, f"the unit {unit.name}",
                                   Subscription.make_key("unit", unit.pk)))
    return {"buttons": buttons}
