from django import template
from django.core.cache import cache

register = template.Library()


@register.inclusion_tag("search/includes/popular.html")
def popular_searches(limit=8):
    """Frequent searches (each made in several sessions), cached for 10 minutes."""
    from ..analytics import popular_queries

    popular = cache.get("kmsearch:popular")
    if popular is None:
        popular = popular_queries(limit=limit)
        cache.set("kmsearch:popular", popular, 600)
    return {"popular": popular}
