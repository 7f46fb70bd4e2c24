"""Which live training modules teach which knowledge page ("Learn this").

A module teaches a page when one of its activities uses the page, or when it
develops a competence the page is tagged with; modules whose curriculum is
unpublished are left out, and modules using the page directly come first,
then by title. ``tests/training/reference.py`` states the rule as one
query per page, and the tests hold this module to it; it answers for any page
from a map of every link, built with three queries and kept by each process
until the site epoch moves (``knowledge/fragments.py``): every save or
delete of a curriculum, module, module competence, activity or page
competence moves it (``knowledge/signal_handlers.py``).

Links are few beside pages (a curriculum links a handful of pages per
module), so the map stays small where the page count is large; search
results, which often come from pages no module mentions, then cost nothing.
When the epoch cannot be read (cache down) callers ask the database per
page, as before the map.
"""

from django.db.models import Q

from knowledge.fragments import EpochMemo, site_epoch

_memo = EpochMemo(1)


class TeachingMap:
    def __init__(self, direct, tagged, modules):
        self._direct = direct  # page id -> module ids used by an activity on it
        self._tagged = tagged  # page id -> module ids developing a competence it is tagged with
        self._modules = modules  # module id -> live Module (with its curriculum)

    @classmethod
    def build(cls):
        from .models import Activity, Module, PageCompetence

        direct, tagged = {}, {}
        for page_id, module_id in Activity.objects.filter(page__isnull=False).values_list("page_id", "module_id"):
            direct.setdefault(page_id, []).append(module_id)
        for page_id, module_id in PageCompetence.objects.filter(
            competence__developed_by__isnull=False
        ).values_list("page_id", "competence__developed_by__module_id"):
            tagged.setdefault(page_id, []).append(module_id)
        modules = {
            m.pk: m
            for m in Module.objects.filter(Q(curriculum__isnull=True) | Q(curriculum__live=True)).select_related("curriculum")
        }
        return cls(direct, tagged, modules)

    def modules_for(self, page_id, limit):
        direct = self._direct.get(page_id, ())
        if not direct and page_id not in self._tagged:
            return []
        uses = set(direct)
        ids = dict.fromkeys([*direct, *self._tagged.get(page_id, ())])
        found = sorted((self._modules[i] for i in ids if i in self._modules), key=lambda m: (m.pk not in uses, m.title))
        return found[:limit]


def teaching_map():
    """The map for the current site epoch, or None if the epoch cannot be
    read (then nothing may be remembered)."""
    epoch = site_epoch()
    if epoch is None:
        return None
    return _memo.get_or_build(epoch, "map", TeachingMap.build)


def modules_teaching_pages(page_ids, limit):
    """{page_id: [live modules teaching it]} for search results and pages."""
    links = teaching_map()
    if links is None:
        return modules_teaching_many(page_ids, limit)
    return {pk: links.modules_for(pk, limit) for pk in page_ids}


def modules_teaching_many(page_ids, limit=2):
    """{page_id: [modules]} for many pages in three queries: what
    ``teaching_map`` answers when the cache, and so its map, is down."""
    from .models import Activity, Module, PageCompetence

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
