"""``{% learn_this page %}``: links from a knowledge page to the modules that teach it."""

from django import template
from django.db.models import Q

register = template.Library()


@register.inclusion_tag("training/includes/learn_this.html")
def learn_this(page, limit=5):
    from ..teaching import modules_teaching_pages

    modules = modules_teaching_pages([page.pk], limit)[page.pk] if getattr(page, "pk", None) else []
    return {"modules": modules, "page": page}


def modules_teaching_many(page_ids, limit=2):
    """{page_id: [modules]} for many pages in three queries: what
    training/teaching.py does when the cache, and so its map, is down."""
    from ..models import Activity, Module, PageCompetence

    page_ids = list(page_ids)
    direct = {}
    for page_id, module_id in Activity.objects.filter(page_id__in=page_ids).values_list("page_id", "module_id"):
        direct.setdefault(page_id, []).append(module_id)
    tagged = {}
    for page_id, module_id in (
        PageCompetence.objects.filter(page_id__in=page_ids)
        .values_list("page_id", "competence__developed_by__module_id")
    ):
        if module_id:
            tagged.setdefault(page_id, []).append(module_id)
    wanted = {m for ids in list(direct.values()) + list(tagged.values()) for m in ids}
    modules = {
        m.pk: m
        for m in Module.objects.filter(pk__in=wanted).filter(Q(curriculum__isnull=True) | Q(curriculum__live=True))
    }
    out = {}
    for page_id in page_ids:
        ids = list(dict.fromkeys(direct.get(page_id, []) + tagged.get(page_id, [])))
        uses = set(direct.get(page_id, []))
        found = sorted((modules[i] for i in ids if i in modules), key=lambda m: (m.pk not in uses, m.title))
        out[page_id] = found[:limit]
    return out
