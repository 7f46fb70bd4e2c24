"""Old guidance and its successor on the results page.

The rule, in plain words (``docs/architecture.md``, "Ranking", rule 5):
a superseded page in the results carries a link to the guidance that
replaced it, if the viewer may open that page. And current guidance comes
before the version it replaced: ``ranking.rank`` moves an old page below
its successor when both are in the running; when the successor is not
(none of its passages matched the question, though the old page's did),
it is brought in right above the old page — provided the viewer may open
it and it passes the request's filters. An old page the question asked
for (``ranking.asks_for_old``) is left alone: it is the answer.
"""

from .backends.base import Hit
from .ranking import Candidate


def _visible_successors(ids, access, specific=False):
    """{page id: live page} of ``ids`` the holder of ``access`` tokens may open."""
    from wagtail.models import Page

    from knowledge.models.access import ids_holding_tokens

    if not ids:
        return {}
    visible = ids_holding_tokens(ids, access)
    pages = Page.objects.live().filter(pk__in=visible)
    return {p.pk: p for p in (pages.specific() if specific else pages)}


def passes_filters(metadata, filters):
    """Whether a page with ``metadata`` (``indexing.page_metadata``) meets
    every restriction of ``filters`` (backends.base.Filters), as a
    retrieval would apply it."""
    for field, values in filters.terms():
        own = metadata.get(field)
        own = set(own) if isinstance(own, list | tuple | set) else {own}
        if not own & set(values):
            return False
    return True


def bring_in_successors(candidates, filters):
    """Insert, right above each old page of ``candidates`` (ranked
    Candidates) that was not asked for and whose successor is missing, that
    successor, if the viewer (``filters.access``) may open it and it passes
    ``filters``. The successor takes the old page's scores; its passage is
    its title and summary. Returns the ids brought in."""
    from .indexing import page_metadata

    present = {c.page_id for c in candidates}
    wanted = {}
    for c in candidates:
        successor_id = c.metadata().get("successor_id")
        if successor_id and successor_id not in present and not c.asked_for and successor_id not in wanted:
            wanted[successor_id] = c
    pages = _visible_successors(set(wanted) - set(filters.exclude_pages), filters.access, specific=True)
    brought = []
    for successor_id, old in wanted.items():
        page = pages.get(successor_id)
        if page is None:
            continue
        metadata = page_metadata(page)
        if not passes_filters(metadata, filters):
            continue
        hit = Hit(page_id=page.pk, position=0, score=old.hit.score, title=page.title,
                  text=getattr(page, "summary", "") or "", metadata=metadata)
        successor = Candidate(page.pk, hit, relevance=old.relevance, score=old.score)
        candidates.insert(candidates.index(old), successor)
        brought.append(page.pk)
    return brought


def attach_successor_links(results, access):
    """Point superseded results (PageResults) at their successor, if the
    holder of ``access`` tokens may open it."""
    pages = _visible_successors({r.successor_id for r in results if r.successor_id}, access)
    for r in results:
        p = pages.get(r.successor_id)
        if p is not None:
            r.successor = {"id": p.pk, "title": p.title, "url": p.get_url()}
