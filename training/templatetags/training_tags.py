"""``{% learn_this page %}``: links from a knowledge page to the modules that teach it."""

from django import template

register = template.Library()


@register.inclusion_tag("training/includes/learn_this.html")
def learn_this(page, limit=5):
    from ..teaching import modules_teaching_pages

    modules = modules_teaching_pages([page.pk], limit)[page.pk] if getattr(page, "pk", None) else []
    return {"modules": modules, "page": page}


