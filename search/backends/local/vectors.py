"""The vector side of the embedded index: memory-mapped segments searched
through faiss, with the viewer's filter applied inside the search.

A segment is written once and never changed (as a Lucene segment): the
chunks' float32 vectors, their ids (``uid``, shared with the tantivy
documents) and page ids, and for every filter value the rows holding it.
Which rows are still live is a separate small file per commit. A segment
of at least ``hnsw_min_rows`` chunks also gets an HNSW graph (faiss
``IndexHNSWSQ``: 8-bit codes for the walk, one byte a dimension; the
winners are scored again exactly from the float32 vectors).

Every file is opened memory-mapped: a process reads the pages a search
touches, the kernel keeps them once for every process on the machine, and a
web worker's own memory does not grow with the corpus.

Pre-filtering: the filter becomes a bitmap of the segment's allowed rows
(live, holding one of the viewer's access tokens, and every facet filter).
If it allows fewer than ``exact_search_below`` rows, those rows are scored
exactly (as Lucene does when a filter is selective); otherwise the graph is
searched with the bitmap as faiss's ``IDSelectorBitmap``, which admits only
allowed rows to the results while the walk goes on through the others (as
Lucene's ``acceptOrds``). No hit is ever dropped after the search.
"""

import json
import os
import shutil
import threading
from pathlib import Path

import faiss
import numpy as np

from .lexical import FILTER_FIELDS


def _fsync_write(path, data):
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _save_npy(path, array):
    tmp = f"{path}.tmp"
    with open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def postings_of(metadatas):
    """(rows array, {field: {value: [start, end]}}): for each filter value,
    the sorted rows holding it, laid end to end."""
    by_value = {field: {} for field in FILTER_FIELDS}
    for row, meta in enumerate(metadatas):
        for field in FILTER_FIELDS:
            value = meta.get(field)
            if value is None:
                continue
            for v in value if isinstance(value, list | tuple) else [value]:
                by_value[field].setdefault(str(v), []).append(row)
    parts, spans, at = [], {}, 0
    for field, values in by_value.items():
        spans[field] = {}
        for value, rows in values.items():
            parts.append(np.asarray(rows, dtype=np.int32))
            spans[field][value] = [at, at + len(rows)]
            at += len(rows)
    rows = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
    return rows, spans


def build_graph(vectors, options):
    """An HNSW graph over ``vectors`` (inner product of normalised vectors
    = cosine), with 8-bit scalar-quantised codes, built on every core
    (searches use one thread each: OMP_NUM_THREADS in web workers)."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        return _build_graph(vectors, options)
    finally:
        faiss.omp_set_num_threads(threads)


def _build_graph(vectors, options):
    graph = faiss.IndexHNSWSQ(vectors.shape[1], faiss.ScalarQuantizer.QT_8bit, int(options.hnsw_m),
                              faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = int(options.hnsw_ef_construction)
    sample = vectors if len(vectors) <= 100_000 else vectors[np.linspace(0, len(vectors) - 1, 100_000).astype(np.int64)]
    graph.train(np.ascontiguousarray(sample, dtype=np.float32))
    for start in range(0, len(vectors), 50_000):
        graph.add(np.ascontiguousarray(vectors[start : start + 50_000], dtype=np.float32))
    return graph


def write_segment(directory, vectors, uids, pages, metadatas, options, graph=None):
    """Write a new segment into ``directory`` and return its name.
    ``graph``: None decides by size, a bool, or the graph itself (built
    beforehand from these vectors, in this order). The caller holds the index's write
    lock; a directory already there was left by a writer killed before its
    commit (no manifest names it, so no reader opens it) and is replaced."""
    directory = Path(directory)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    _save_npy(directory / "vectors.npy", vectors)
    _save_npy(directory / "uids.npy", np.asarray(uids, dtype=np.int64))
    _save_npy(directory / "pages.npy", np.asarray(pages, dtype=np.int64))
    rows, spans = postings_of(metadatas)
    _save_npy(directory / "filters.npy", rows)
    if graph is None:
        graph = len(vectors) >= int(options.hnsw_min_rows)
    built = graph if isinstance(graph, faiss.Index) else (build_graph(vectors, options) if graph and len(vectors) else None)
    if built is not None:
        if built.ntotal != len(vectors):
            raise ValueError(f"the graph holds {built.ntotal} vectors, the segment {len(vectors)}")
        faiss.write_index(built, str(directory / "hnsw.faiss.tmp"))
        os.replace(directory / "hnsw.faiss.tmp", directory / "hnsw.faiss")
    meta = {"rows": len(vectors), "dimension": int(vectors.shape[1]) if vectors.ndim == 2 else 0,
            "postings": spans, "graph": built is not None}
    # segment.json last: a segment without it was never finished
    _fsync_write(directory / "segment.json", json.dumps(meta).encode())
    return directory.name


def segment_metadatas(segment, live):
    """Each live row's filter values back as metadata dicts (for merging)."""
    metas = [{} for _ in range(segment.rows)]
    for field, values in segment.postings.items():
        for value, (start, end) in values.items():
            for row in segment.filter_rows[start:end].tolist():
                metas[row].setdefault(field, []).append(value)
    return [metas[r] for r in np.flatnonzero(live).tolist()]


def _mapped(path):
    """A read-only array over the file's pages (a plain ndarray view of the
    memory map: ``np.memmap``'s own indexing costs more than the reading)."""
    return np.load(path, mmap_mode="r").view(np.ndarray)


class VectorSegment:
    """A segment opened for reading (everything memory-mapped)."""

    def __init__(self, directory, live_file=None):
        self.directory = Path(directory)
        self.name = self.directory.name
        meta = json.loads((self.directory / "segment.json").read_text())
        self.rows, self.dimension = meta["rows"], meta["dimension"]
        self.postings = meta["postings"]
        self.vectors = _mapped(self.directory / "vectors.npy")
        self.uids = _mapped(self.directory / "uids.npy")
        self.pages = _mapped(self.directory / "pages.npy")
        self.filter_rows = _mapped(self.directory / "filters.npy")
        self.live_file = live_file
        self.live = _mapped(self.directory / live_file) if live_file else None
        self.has_graph = bool(meta["graph"])
        self._graph = None
        self._allowed, self._allowed_lock = {}, threading.Lock()

    @property
    def graph(self):
        """The HNSW graph (memory-mapped), opened when first searched: a
        writer opens segments to mark rows dead and never needs it."""
        if self._graph is None and self.has_graph:
            self._graph = faiss.read_index(str(self.directory / "hnsw.faiss"),
                                           faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
        return self._graph

    def with_live(self, live_file):
        """The same segment under another commit's live rows."""
        other = object.__new__(VectorSegment)
        other.__dict__.update(self.__dict__)
        other.live_file = live_file
        other.live = _mapped(self.directory / live_file) if live_file else None
        other._allowed = {}
        return other

    def live_mask(self):
        return np.array(self.live, dtype=bool) if self.live is not None else np.ones(self.rows, dtype=bool)

    def _rows_holding(self, field, values):
        mask = np.zeros(self.rows, dtype=bool)
        spans = self.postings.get(field, {})
        for value in values:
            span = spans.get(str(value))
            if span:
                mask[self.filter_rows[span[0] : span[1]]] = True
        return mask

    def allowed(self, filters):
        """The rows ``filters`` admit: live, one of the access tokens, each facet filter."""
        mask = self.live_mask()
        for field, values in filters.terms():
            mask &= self._rows_holding(field, values)
        if filters.exclude_pages:
            mask &= ~np.isin(self.pages, np.asarray(list(filters.exclude_pages), dtype=np.int64))
        return mask

    def allowed_rows(self, filters):
        """``Allowed`` for ``filters``, remembered for the last few filters
        (a segment and its live rows never change; the same few sets of
        access tokens come back on most searches, as Lucene's query cache
        keeps the bitsets of frequent filters)."""
        key = (tuple((f, tuple(sorted(str(v) for v in vs))) for f, vs in filters.terms()),
               tuple(sorted(int(p) for p in filters.exclude_pages)))
        found = self._allowed.get(key)
        if found is None:
            found = Allowed(self.allowed(filters))
            with self._allowed_lock:
                while len(self._allowed) >= ALLOWED_CACHE:
                    self._allowed.pop(next(iter(self._allowed)))
                self._allowed[key] = found
        return found

    def search(self, query, allowed, limit, options):
        """(exact cosine scores, uids) of the best ``limit`` allowed rows
        (``allowed``: an ``Allowed``, or a boolean mask over the rows)."""
        if not isinstance(allowed, Allowed):
            allowed = Allowed(allowed)
        if not allowed.count:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        k = min(limit, allowed.count)
        rows = None
        if self.has_graph and allowed.count >= int(options.exact_search_below):
            rows = self._graph_search(query, allowed, k, options)
        if rows is None:  # selective filter, small segment, or a walk that came back short
            rows = allowed.rows()
        scores = np.asarray(self.vectors[rows] @ query, dtype=np.float32)
        if len(rows) > k:
            best = np.argpartition(-scores, k - 1)[:k]
            rows, scores = rows[best], scores[best]
        return scores, np.asarray(self.uids[rows], dtype=np.int64)

    def _graph_search(self, query, allowed, k, options):
        """The rows the graph finds for ``query`` among the allowed ones:
        ``candidate_factor`` times ``k`` (the walk compares 8-bit codes; the
        exact scores that follow pick the best ``k``), or None if it found
        fewer than ``k``."""
        wanted = min(allowed.count, int(options.candidate_factor * k))
        params = faiss.SearchParametersHNSW()
        params.sel = faiss.IDSelectorBitmap(self.rows, faiss.swig_ptr(allowed.bitmap))
        # a selective filter needs a longer walk to meet enough allowed rows
        ef = max(wanted, int(options.hnsw_ef_search))
        params.efSearch = int(min(4 * ef, ef / max(allowed.count / self.rows, 0.25)))
        _scores, ids = self.graph.search(np.asarray(query, dtype=np.float32)[None, :], wanted, params=params)
        found = ids[0][ids[0] >= 0]
        if len(found) < k:
            return None
        return np.sort(found)


#: filters whose allowed rows a segment remembers (each: a bit per row)
ALLOWED_CACHE = 8


class Allowed:
    """The rows of a segment a filter admits: their number, and a bitmap
    (for faiss's selector; the row numbers themselves when scanned)."""

    def __init__(self, mask):
        self.count = int(mask.sum())
        self.bitmap = np.packbits(mask, bitorder="little")
        self._rows = None

    def rows(self):
        if self._rows is None:
            n = len(self.bitmap) * 8
            self._rows = np.flatnonzero(np.unpackbits(self.bitmap, bitorder="little", count=n)).astype(np.int64)
        return self._rows


def search_segments(segments, query, filters, limit, options):
    """The best ``limit`` (score, uid) over every segment, best first (ties by uid)."""
    query = np.asarray(query, dtype=np.float32)
    all_scores, all_uids = [], []
    for segment in segments:
        if segment.dimension and segment.dimension != len(query):
            raise ValueError(f"query vector dimension {len(query)} does not match index dimension {segment.dimension}")
        scores, uids = segment.search(query, segment.allowed_rows(filters), limit, options)
        all_scores.append(scores)
        all_uids.append(uids)
    if not all_scores:
        return []
    scores, uids = np.concatenate(all_scores), np.concatenate(all_uids)
    order = np.lexsort((uids, -scores))[:limit]
    return list(zip(scores[order].tolist(), uids[order].tolist()))
