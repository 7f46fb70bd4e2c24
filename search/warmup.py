"""Warm a new web process: load the embedding model and the in-memory index."""

import logging

logger = logging.getLogger("govkm.search")


def warm_up():
    from .backends import get_search_backend
    from .backends.base import SITE_NAMESPACE, Filters
    from .embeddings import get_embedder

    try:
        vector = get_embedder().embed_query("warm up")
        get_search_backend().search(
            SITE_NAMESPACE, text="warm up", terms=["warm"], vector=vector, filters=Filters(access=["public"]),
            mode="hybrid", limit=1, with_facets=False,
        )
    except Exception:  # never keep a worker from starting
        logger.exception("search warm-up failed; the first searches will be slower")
