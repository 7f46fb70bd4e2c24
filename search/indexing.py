"""The indexing pipeline: page -> sections -> chunks -> vectors -> backend.

``index_page`` is idempotent and ordered by revision: it always indexes the
page's current live state, and a task carrying an older revision than the
one already indexed does nothing.
"""

import logging

import numpy as np
from django.db import transaction
from wagtail.models import Page

from knowledge.access import compile_tokens
from knowledge.freshness import freshness_state

from . import sentences
from .analysis import analyse
from .backends import get_search_backend
from .backends.base import SITE_NAMESPACE, ChunkRecord, PrimaryWriteFailed
from .chunking import ChunkText, chunk_sections
from .conf import search_setting
from .embeddings import get_embedder
from .extract import attachment_sections, page_sections
from .models import IndexedPage, IndexOutbox

logger = logging.getLogger("govkm.search")

#: the ``source`` of a page's title-and-summary passage
SUMMARY_SOURCE = "summary"
CONTENT_TYPES = {"policypage": "policy", "procedurepage": "procedure", "lessonlearnedpage": "lesson"}


def page_metadata(page, today=None):
    """Filterable and displayable facts about a specific knowledge page."""
    unit = page.unit
    units = [u.slug for u in unit.ancestors_and_self()] if unit else []
    status = getattr(page, "status", "") or "current"
    successor = page.superseded_by if hasattr(page, "superseded_by") and status == "superseded" else None
    return {
        "content_type": CONTENT_TYPES.get(page._meta.model_name, page._meta.model_name),
        "topics": sorted(page.topics.values_list("slug", flat=True)),
        "units": units,
        "unit_name": unit.name if unit else "",
        "status": status,
        "audience": page.audience,
        "freshness": freshness_state(page, today),
        "access": compile_tokens(page),
        "url": page.get_url() or "",
        "last_reviewed": page.last_reviewed_at.isoformat() if page.last_reviewed_at else None,
        "successor_id": successor.pk if successor else None,
        "revision_id": page.live_revision_id,
    }


def chunk_settings():
    return search_setting("CHUNK_TOKENS"), search_setting("CHUNK_OVERLAP")


def build_chunks(page, namespace=SITE_NAMESPACE, backend=None, embedder=None, metadata=None):
    """(ChunkRecords, warnings, number embedded) for a specific knowledge page."""
    metadata = metadata if metadata is not None else page_metadata(page)
    sections = page_sections(page)
    extra, warnings = attachment_sections(page)
    records, embedded = chunk_records(
        page.pk, page.title, getattr(page, "summary", "") or "", sections + extra, metadata,
        namespace=namespace, backend=backend, embedder=embedder,
    )
    prepare_sentences([r.text for r in records], embedder or get_embedder())
    return records, warnings, embedded


def prepare_sentences(texts, embedder):
    """The answer card's sentence vectors, embedded now rather than on a
    search (``sentences.prepare``); a failure costs only that."""
    try:
        sentences.prepare(texts, embedder)
    except Exception:
        logger.exception("sentence vectors for the answer card were not prepared")


def chunk_records(doc_id, title, summary, sections, metadata, *, namespace=SITE_NAMESPACE, backend=None, embedder=None):
    """Chunk, embed and describe one document. Used for pages and for
    evaluation collections alike. Unchanged chunks reuse their stored
    vectors (matched by content hash) instead of being embedded again."""
    from .extract import Section

    backend = backend or get_search_backend()
    embedder = embedder or get_embedder()
    max_tokens, overlap = chunk_settings()
    budget = max(32, min(max_tokens, getattr(embedder, "max_tokens", 256) - 40))
    count = getattr(embedder, "count_tokens", None)
    texts = chunk_sections(sections, budget, min(overlap, budget // 2), count)
    if not texts:  # a document with no body still has a title and summary
        texts = chunk_sections([Section("Summary", summary or title)], budget, 0, count)
    elif summary.strip() and search_setting("SUMMARY_PASSAGE"):
        # the page's own passage: what the page is about, in its title and
        # summary (embedded as "title. summary"), beside its body's passages
        texts.append(ChunkText(len(texts), "", summary.strip(), SUMMARY_SOURCE))
    hashes = [c.content_hash(title, summary, embedder.model_id) for c in texts]
    known = backend.existing_vectors(namespace, set(hashes))
    missing = [i for i, h in enumerate(hashes) if h not in known]
    if missing:
        embedded = embedder.embed_documents([embedding_text(title, texts[i].heading, texts[i].text) for i in missing])
        for i, vec in zip(missing, embedded):
            known[hashes[i]] = vec
    records = [
        ChunkRecord(
            page_id=doc_id,
            position=c.position,
            title=title,
            heading=c.heading,
            text=c.text,
            summary=summary,
            content_hash=h,
            model_id=embedder.model_id,
            vector=np.asarray(known[h], dtype=np.float32),
            metadata={**metadata, "source": c.source},
        )
        for c, h in zip(texts, hashes)
    ]
    return records, len(missing)


def embedding_text(title, heading, text):
    return f"{title}. {heading}. {text}" if heading else f"{title}. {text}"


def index_page(page_id, revision_id=None, namespace=SITE_NAMESPACE, backend=None):
    """Bring the index in line with page ``page_id``'s current live state.

    Returns "indexed", "removed" or "skipped" (an older revision than the one
    already indexed). The row lock on ``IndexedPage`` serialises work on one
    page. If a backend wrote its local fallback but not its primary engine
    (``PrimaryWriteFailed``), the local write is committed and the error
    raised afterwards, so the task retries without losing what was written."""
    from knowledge.models import KnowledgePage

    backend = backend or get_search_backend()
    deferred = None
    with transaction.atomic():
        state, _ = IndexedPage.objects.select_for_update().get_or_create(page_id=page_id)
        if (
            revision_id is not None
            and state.revision_id is not None
            and revision_id < state.revision_id
            and state.state == IndexedPage.State.INDEXED
        ):
            return "skipped"
        page = Page.objects.filter(pk=page_id).first()
        specific = page.specific if page is not None else None
        if specific is None or not page.live or not isinstance(specific, KnowledgePage):
            try:
                backend.delete_page(namespace, page_id)
            except PrimaryWriteFailed as exc:
                deferred = exc
            state.state, state.chunk_count = IndexedPage.State.REMOVED, 0
            outcome = "removed"
        else:
            records, warnings, _embedded = build_chunks(specific, namespace, backend)
            try:
                backend.index_page(namespace, page_id, records)
            except PrimaryWriteFailed as exc:
                deferred = exc
            state.revision_id = specific.live_revision_id
            state.state, state.chunk_count, state.warnings = IndexedPage.State.INDEXED, len(records), warnings
            outcome = "indexed"
        state.attempts, state.last_error = 0, ""
        if deferred is not None:
            state.state, state.last_error = IndexedPage.State.FAILED, str(deferred)[:2000]
        state.save()
    if deferred is not None:
        raise deferred
    return outcome


def record_failure(page_id, error, attempts):
    IndexedPage.objects.update_or_create(
        page_id=page_id,
        defaults={"state": IndexedPage.State.FAILED, "last_error": str(error)[:2000], "attempts": attempts},
    )


@transaction.atomic
def forget_index():
    """Delete every stored chunk, indexing state and pending indexing work
    (the demo's reset; ``search_reindex`` rebuilds the index after it)."""
    from .models import Chunk

    for model in (Chunk, IndexedPage, IndexOutbox):
        model.objects.all().delete()


def query_terms(text, synonyms):
    """Analysed terms of a query and of its synonyms."""
    return analyse(text) + [t for extra in synonyms.expansions(text) for t in analyse(extra)]
