"""Warm a new process before it takes work: load the embedding model (and,
in a web process, a reader of the index: its files memory-mapped), so that the first visitor or the
first edit after a restart does not pay for it."""

import logging

logger = logging.getLogger("govkm.search")


def warm_up():
    """A web process: the model, the query encoder and the index."""
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


def warm_up_indexer():
    """A Celery worker process: the model and the encoder an edit's chunks
    go through. Without it the first index task after a start spends some
    15 s of CPU importing torch and loading weights, while the web processes
    on the same cores are serving. No reader of the index is opened: a
    worker writes to it and never searches it."""
    from .embeddings import get_embedder

    try:
        get_embedder().embed_documents(["warm up"])
    except Exception:  # never keep a worker from starting
        logger.exception("indexer warm-up failed; the first index task will be slower")
