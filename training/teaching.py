"""Which live training modules teach which knowledge page ("Learn this").

A module teaches a page when one of its activities uses the page, or when it
develops a competence the page is tagged with; modules whose curriculum is
unpublished are left out, and modules using the page directly come first,
then by title. ``tests/training/reference.py`` states the rule as one
query per page, and the tests hold this module to it; it answers for any
number of pages with three queries. (Until issue 28 each process kept a map
of every link under the site epoch; docs/performance.md gives what removing
it cost.)
"""

from django.db.models import Q


def modules_teaching_pages(page_ids, limit):
    """{page_id: [live modules teaching it, at most ``limit``]} for search
    results and pages: three queries however many pages."""
    from .models import Activity, Module, PageCompetence

    page_ids = list(page_ids)
    direct, tagged = {}, {}
    for page_id, module_id in Activity.objects.filter(page_id__in=page_ids).values_list("page_id", "module_id"):
        direct.setdefault(page_id, []).append(module_id)
    for page_id, module_id in PageCompetence.objects.filter(
        page_id__in=page_ids, competence__developed_by__isnull=False
    ).values_list("page_id", "competence__developed_by__module_id"):
        tagged.setdefault(page_id, []).append(module_id)
    wanted = {m for ids in [*direct.values(), *tagged.values()] for m in ids}
    modules = {
        m.pk: m
        for m in Module.objects.filter(pk__in=wanted)
        .filter(Q(curriculum__isnull=True) | Q(curriculum__live=True))
        .select_related("curriculum")
    } if wanted else {}
    out = {}
    for page_id in page_ids:
        uses = set(direct.get(page_id, ()))
        ids = dict.fromkeys([*direct.get(page_id, ()), *tagged.get(page_id, ())])
        found = sorted((modules[i] for i in ids if i in modules), key=lambda m: (m.pk not in uses, m.title))
        out[page_id] = found[:limit]
    return out
