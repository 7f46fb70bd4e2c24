from django import template

register = template.Library()


@register.inclusion_tag("search/includes/popular.html")
def popular_searches(limit=8):
    """Frequent searches the public may see (search/popular.py), cached."""
    from ..popular import popular_for_home

    return {"popular": popular_for_home(limit)}
