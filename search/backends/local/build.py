"""Building a whole generation of a namespace at once (``search_reindex``):
one tantivy writer for every document, one vector segment with one HNSW
graph, instead of a commit per page.

The two costly parts run side by side: the vectors are read first (one
column, in the order the text pass reads the rows) and the HNSW graph is
built from them in a thread (faiss releases the GIL and uses every core),
while the main thread analyses the text and feeds tantivy's writer threads.
A passage's terms are analysed once and serve both its own document and
its page's. ``timings`` (a dict, if given) receives seconds per stage.
"""

import threading
import time

import numpy as np

from ...models import Chunk
from ..base import ChunkRecord
from . import lexical
from .store import FORMAT
from .vectors import build_graph, write_segment

BATCH = 2000


def _rows(namespace, *fields):
    return (
        Chunk.objects.filter(namespace=namespace)
        .order_by("page_id", "position", "id")
        .values_list(*fields)
        .iterator(chunk_size=BATCH)
    )


def stored_vectors(namespace):
    """(row ids, float32 matrix) of every chunk of ``namespace``, in the
    order ``stored_pages`` yields them."""
    ids, parts = [], []
    for pk, vector in _rows(namespace, "id", "vector"):
        ids.append(pk)
        parts.append(bytes(vector))
    if not parts:
        return np.zeros(0, dtype=np.int64), None
    matrix = np.frombuffer(b"".join(parts), dtype=np.float32)
    del parts
    return np.asarray(ids, dtype=np.int64), matrix.reshape(len(ids), -1)


def stored_pages(namespace, with_vectors=True):
    """(page_id, [ChunkRecord]) for every page stored in the database under
    ``namespace``, in page order: the durable copy the index is built from.
    Without vectors, each record's ``vector`` is its row id (to check that
    it is the row ``stored_vectors`` read at the same place)."""
    fields = ["page_id", "position", "title", "heading", "text", "content_hash", "model_id", "metadata"]
    page, chunks = None, []
    for row in _rows(namespace, *fields, "vector" if with_vectors else "id"):
        page_id, position, title, heading, text, content_hash, model_id, metadata, vector = row
        if page_id != page and chunks:
            yield page, chunks
            chunks = []
        page = page_id
        chunks.append(ChunkRecord(
            page_id=page_id, position=position, title=title, heading=heading, text=text,
            summary=metadata.get("summary", ""), content_hash=content_hash, model_id=model_id,
            vector=np.frombuffer(bytes(vector), dtype=np.float32) if with_vectors else vector, metadata=metadata,
        ))
    if chunks:
        yield page, chunks


class _GraphBuilder(threading.Thread):
    """The HNSW graph of ``matrix``, built in the background."""

    def __init__(self, matrix, options):
        super().__init__(name="hnsw-build", daemon=True)
        self.matrix, self.options = matrix, options
        self.graph, self.error, self.seconds = None, None, 0.0

    def run(self):
        t0 = time.perf_counter()
        try:
            self.graph = build_graph(self.matrix, self.options)
        except BaseException as exc:  # re-raised in the caller's thread
            self.error = exc
        self.seconds = time.perf_counter() - t0

    def result(self):
        self.join()
        if self.error is not None:
            raise self.error
        return self.graph


def build_namespace(store, namespace, options, progress=None, timings=None):
    """Build a new generation of ``store`` from the rows of ``namespace``
    (vectors first, the graph in the background, then the text)."""
    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    ids, matrix = stored_vectors(namespace)
    timings["read_vectors_s"] = time.perf_counter() - t0
    builder = None
    if matrix is not None and len(matrix) >= int(options.hnsw_min_rows):
        builder = _GraphBuilder(matrix, options)
        builder.start()
    try:
        gen = build_generation(store, stored_pages(namespace, with_vectors=False), options, progress,
                               vectors=(ids, matrix), graph=builder, timings=timings)
    finally:
        if builder is not None:
            builder.join()
            timings["graph_s"] = builder.seconds
    timings["total_s"] = time.perf_counter() - t0
    return gen


def build_generation(store, pages, options, progress=None, vectors=None, graph=None, timings=None):
    """Write every page of ``pages`` ((page_id, [ChunkRecord]) pairs) into
    a new generation of ``store``; returns its directory (not yet live).
    ``vectors``: (row ids, matrix) read beforehand, in the same order (the
    records then carry their row id as ``vector``); ``graph``: a
    ``_GraphBuilder`` already building the matrix's graph."""
    timings = {} if timings is None else timings
    with store.locked():
        gen = store.new_generation()
    heap = max(256, int(options.writer_heap_mb)) * 1_000_000
    writer = lexical.open_index(gen / "text").writer(heap, 2)
    page_writer = lexical.open_index(gen / "pages").writer(heap // 2, 1)
    collected, pages_of, metas = [], [], []
    uid = 1
    t0 = time.perf_counter()
    try:
        for page_id, chunks in pages:
            analysed = []
            for record in chunks:
                terms = lexical.analysed_fields(record)
                analysed.append(terms)
                writer.add_document(lexical.chunk_document(uid, record, terms))
                if vectors is not None and (uid > len(vectors[0]) or vectors[0][uid - 1] != record.vector):
                    raise RuntimeError("the chunks changed while the index was being built; build it again")
                uid += 1
                if vectors is None:
                    collected.append(np.asarray(record.vector, dtype=np.float32))
                pages_of.append(page_id)
                metas.append({f: record.metadata.get(f) for f in lexical.FILTER_FIELDS})
            if chunks:
                page_writer.add_document(lexical.page_document(page_id, chunks, analysed))
            if progress:
                progress(len(chunks))
        timings["documents_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        writer.commit()
        page_writer.commit()
    except BaseException:
        writer.rollback()
        page_writer.rollback()
        raise
    finally:
        writer.wait_merging_threads()
        page_writer.wait_merging_threads()
    timings["text_commit_s"] = time.perf_counter() - t1
    if vectors is not None and uid - 1 != len(vectors[0]):
        raise RuntimeError("the chunks changed while the index was being built; build it again")
    manifest = {"format": FORMAT, "generation": 1, "next_uid": uid, "dimension": None, "segments": []}
    matrix = vectors[1] if vectors is not None else (np.stack(collected) if collected else None)
    del collected
    if matrix is not None and len(matrix):
        t1 = time.perf_counter()
        built = graph.result() if graph is not None else None
        timings["graph_wait_s"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        manifest["dimension"] = int(matrix.shape[1])
        name = write_segment(gen / "vectors" / "s00000001", matrix, np.arange(1, uid, dtype=np.int64),
                             pages_of, metas, options, graph=built)
        manifest["segments"].append({"name": name, "live": None})
        timings["write_vectors_s"] = time.perf_counter() - t1
    store._write_manifest(gen, manifest)
    return gen
