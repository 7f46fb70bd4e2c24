"""``{% learn_this page %}``: links from a knowledge page to the modules that teach it."""

from django import template
from django.db.models import Q

register = template.Library()


def modules_teaching(page, limit=5):
    """Live modules that use the page in an activity or develop a competence
    the page is tagged with; modules using the page directly come first."""
    from ..models import Module

    if page is None or not getattr(page, "pk", None):
        return []
    direct = Q(activities__page_id=page.pk)
    tagged = Q(competences__competence__page_links__page_id=page.pk)
    modules = (
        Module.objects.filter(direct | tagged)
        .filter(Q(curriculum__isnull=True) | Q(curriculum__live=True))
        .select_related("curriculum")
        .distinct()
    )
    uses = set(Module.objects.filter(direct).values_list("pk", flat=True))
    return sorted(modules, key=lambda m: (m.pk not in uses, m.title))[:limit]


@register.inclusion_tag("training/includes/learn_this.html")
def learn_this(page, limit=5):
    return {"modules": modules_teaching(page, limit), "page": page}


@register.inclusion_tag("training/includes/learn_links.html")
def learn_links(page_id, limit=2):
    """A one-line "Learn this" for a search result (by page id)."""
    from types import SimpleNamespace

    return {"modules": modules_teaching(SimpleNamespace(pk=page_id), limit)}
