"""Serving a page with fewer queries: what each process remembers.

Wagtail serves ``/procedures/report-a-data-breach/`` with four queries before
the template: the page by URL path (``HomePage.route`` already finds it in
one query instead of two per level), its specific object, its ancestors and
the view restrictions on them. Two memos take three of them away:

**Routes.** A URL path maps to the page's id and content type, so the page is
loaded as its specific class in one query.
Nothing is trusted: the row loaded must still carry that URL path and lie
below the site's root, or the entry is dropped and the page is looked up
Wagtail's way. A moved page, a renamed slug
or a deleted page therefore need no invalidation. Only paths of pages that
exist are remembered, and at most ``MAX_ROUTES``.

**View restrictions.** Every ``PageViewRestriction``, with its groups, by the
tree path of the page it is on, per process under the site epoch of
``fragments.py``. Any save or delete of a restriction or of its groups moves
the epoch (``signal_handlers.py``). The
restrictions of a page are then those on the pages whose path begins its
own (ancestors and itself), found without a query; Wagtail's check at serving
(``check_view_restrictions``) iterates them as it iterates its own query.

Where the memo could be wrong it is not used: the site has alias pages
(Wagtail reads the restrictions of an alias, and of pages below one, from
its source page, where the memo would read the alias's own), the epoch
cannot be read (cache down), or the request runs inside a transaction (rows
it reads may be rolled back after they were remembered). Then Wagtail's own
queries run. The map learns that an alias exists at the next epoch: until
then the two readings cannot differ, as Wagtail copies the source's own
restrictions onto a new alias (and an alias without any copies none), and
any later restriction, or a page published below the alias, moves the
epoch. Only pages found by ``HomePage.route`` carry the memo; every
other caller of ``get_view_restrictions`` (the admin's privacy dialog,
``access.compile_tokens``) gets Wagtail's query.
"""

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from wagtail.models import Page, PageViewRestriction

from search.lru import LRUCache

from . import fragments

MAX_ROUTES = 20_000

_routes = LRUCache(MAX_ROUTES)
_restrictions = fragments.EpochMemo(1)


def ancestor_paths(path):
    """The tree paths of the page at ``path`` and of its ancestors."""
    return [path[:end] for end in range(Page.steplen, len(path) + 1, Page.steplen)]


# --- routes ---------------------------------------------------------------------
def page_at(url_path, root_path):
    """The live-or-not specific page whose URL path is ``url_path`` below the
    tree path ``root_path``, or None: one query when the path is known."""
    known = _routes.get(url_path)
    if known is not None:
        content_type_id, pk = known
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        page = model._default_manager.filter(pk=pk).first() if model is not None else None
        if page is not None and page.url_path == url_path and page.path.startswith(root_path):
            return page
        _routes.discard(url_path)
    found = Page.objects.filter(url_path=url_path, path__startswith=root_path).first()
    if found is None:
        return None
    page = found.specific
    if type(page) is not Page:  # a page type still in the code
        _routes.put(url_path, (page.content_type_id, page.pk))
    return page


def forget_routes():
    _routes.clear()


# --- view restrictions ----------------------------------------------------------
class RestrictionMap:
    def __init__(self, by_path, has_aliases):
        self.by_path = by_path  # tree path -> [PageViewRestriction with groups prefetched]
        self.has_aliases = has_aliases

    @classmethod
    def build(cls):
        by_path = {}
        for restriction in PageViewRestriction.objects.select_related("page").prefetch_related("groups").order_by("pk"):
            by_path.setdefault(restriction.page.path, []).append(restriction)
        has_aliases = Page.objects.filter(alias_of__isnull=False).exists()
        return cls(by_path, has_aliases)

    def for_path(self, path):
        return [r for ancestor in ancestor_paths(path) for r in self.by_path.get(ancestor, ())]


def in_transaction():
    """Whether this thread is inside a transaction that may yet roll back.
    The atomic blocks a test case wraps every test in do not count (Django
    marks them, and treats them as autocommit for durable blocks too): the
    memo is then used in tests as in production, request by request."""
    blocks = transaction.get_connection().atomic_blocks
    return any(not getattr(block, "_from_testcase", False) for block in blocks)


def restriction_map(epoch):
    """The map for ``epoch``, or None where it must not be used."""
    if epoch is None or in_transaction():
        return None
    links = _restrictions.get_or_build(epoch, "map", RestrictionMap.build)
    return None if links.has_aliases else links


def remember_restrictions(page, epoch):
    """Attach to ``page`` (about to be served) the view restrictions that
    apply to it, from the map, for ``ViewRestrictionMemoMixin``; or None,
    so that Wagtail queries, where the map must not be used. Always set: the
    home page object is kept per process with its site (middleware.py), and
    must not carry what an earlier request attached into this one."""
    if page is not None:
        links = restriction_map(epoch)
        page._km_view_restrictions = None if links is None else links.for_path(page.path)


class ViewRestrictionMemoMixin:
    """For page classes: ``get_view_restrictions()`` answers from what
    ``remember_restrictions`` attached, as a queryset whose results are
    already there (iterating it costs no query; a filtered or ordered copy
    asks the database, as Wagtail's would)."""

    def get_view_restrictions(self):
        remembered = self.__dict__.get("_km_view_restrictions")
        if remembered is None:
            return super().get_view_restrictions()
        restrictions = PageViewRestriction.objects.filter(page__path__in=ancestor_paths(self.path))
        restrictions._result_cache = list(remembered)
        restrictions._prefetch_done = True
        return restrictions
