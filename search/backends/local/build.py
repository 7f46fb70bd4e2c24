"""Building a whole generation of a namespace at once (``search_reindex``):
one tantivy writer for every document, one vector segment with one HNSW
graph, instead of a commit per page."""

import numpy as np

from ...models import Chunk
from ..base import ChunkRecord
from . import lexical
from .store import FORMAT
from .vectors import write_segment

BATCH = 2000


def stored_pages(namespace):
    """(page_id, [ChunkRecord]) for every page stored in the database under
    ``namespace``, in page order: the durable copy the index is built from."""
    rows = (
        Chunk.objects.filter(namespace=namespace)
        .order_by("page_id", "position")
        .values_list("page_id", "position", "title", "heading", "text", "content_hash", "model_id", "vector", "metadata")
        .iterator(chunk_size=BATCH)
    )
    page, chunks = None, []
    for page_id, position, title, heading, text, content_hash, model_id, vector, metadata in rows:
        if page_id != page and chunks:
            yield page, chunks
            chunks = []
        page = page_id
        chunks.append(ChunkRecord(
            page_id=page_id, position=position, title=title, heading=heading, text=text,
            summary=metadata.get("summary", ""), content_hash=content_hash, model_id=model_id,
            vector=np.frombuffer(bytes(vector), dtype=np.float32), metadata=metadata,
        ))
    if chunks:
        yield page, chunks


def build_generation(store, pages, options, progress=None):
    """Write every page of ``pages`` ((page_id, [ChunkRecord]) pairs) into
    a new generation of ``store``; returns its directory (not yet live)."""
    with store.locked():
        gen = store.new_generation()
    heap = max(256, int(options.writer_heap_mb)) * 1_000_000
    writer = lexical.open_index(gen / "text").writer(heap, 2)
    page_writer = lexical.open_index(gen / "pages").writer(heap // 2, 1)
    vectors, pages_of, metas = [], [], []
    uid = 1
    try:
        for page_id, chunks in pages:
            for record in chunks:
                writer.add_document(lexical.chunk_document(uid, record))
                uid += 1
                vectors.append(np.asarray(record.vector, dtype=np.float32))
                pages_of.append(page_id)
                metas.append({f: record.metadata.get(f) for f in lexical.FILTER_FIELDS})
            if chunks:
                page_writer.add_document(lexical.page_document(page_id, chunks))
            if progress:
                progress(len(chunks))
        writer.commit()
        page_writer.commit()
    except BaseException:
        writer.rollback()
        page_writer.rollback()
        raise
    finally:
        writer.wait_merging_threads()
        page_writer.wait_merging_threads()
    manifest = {"format": FORMAT, "generation": 1, "next_uid": uid, "dimension": None, "segments": []}
    if vectors:
        matrix = np.stack(vectors)
        del vectors
        manifest["dimension"] = int(matrix.shape[1])
        name = write_segment(gen / "vectors" / "s00000001", matrix, np.arange(1, uid, dtype=np.int64),
                             pages_of, metas, options)
        manifest["segments"].append({"name": name, "live": None})
    store._write_manifest(gen, manifest)
    return gen
