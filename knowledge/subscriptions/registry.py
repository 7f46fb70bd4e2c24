"""Saved searches are matched by whoever can search: the search app
registers a matcher here in its ``AppConfig.ready`` (knowledge never
imports search). Without one, saved searches match nothing."""

import logging

logger = logging.getLogger("govkm.knowledge")
_matchers = []


def register_query_matcher(func):
    """``func(page_id, queries) -> iterable of the queries that match the page``."""
    if func not in _matchers:
        _matchers.append(func)
    return func


def queries_matching(page_id, queries):
    if not queries:
        return set()
    matched = set()
    for func in _matchers:
        try:
            matched.update(func(page_id, list(queries)))
        except Exception:  # a search engine that is down must not stop a publication's notices
            logger.exception("saved searches could not be matched against page %s", page_id)
    return matched
