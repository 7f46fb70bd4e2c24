"""The embedded backend: no server, chunks persisted in the project database.

The database is the source of truth (it survives restarts and is shared by
the web processes and the worker); each process keeps an in-memory copy per
namespace - an exact cosine index over a float32 matrix and a BM25 inverted
index - and brings it up to date before each search by reading only what
changed since its last look (``NamespaceState.generation``, ``Chunk.seq`` and
``Tombstone`` rows).

Exact search was chosen over HNSW: on the 2-core reference machine a numpy
matrix-vector product over 100k x 384 vectors takes ~6 ms, well inside the
latency goal, and needs no index build (usearch took ~100 s to build 100k);
see README for figures.
"""

import dataclasses
import itertools
import math
import threading
import time

import numpy as np
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import Chunk, NamespaceState, Tombstone
from .base import FACET_FIELDS, BackendResult, Hit
from .base import SearchBackend as BaseSearchBackend

MULTI_VALUED = ("topics", "units", "access")


@dataclasses.dataclass
class LocalOptions:
    bm25_k1: float = 1.2
    bm25_b: float = 0.75
    #: a vector hit below this cosine similarity does not count as a match for facets and totals
    min_similarity: float = 0.25
    #: how many chunks each side returns before fusion
    candidates: int = 200
    #: seconds a web process may answer from its in-memory copy before asking
    #: the database again whether another process wrote to the index (as
    #: Elasticsearch's refresh interval, 1 s there); writes made in this
    #: process are seen at once. 0: ask on every read.
    refresh_interval: float = 0.1


class _Values:
    """value -> rows holding it, with cached numpy arrays."""

    def __init__(self):
        self.rows = {}
        self._arrays = {}

    def add(self, row, values):
        for v in values:
            self.rows.setdefault(v, []).append(row)
            self._arrays.pop(v, None)

    def array(self, value):
        arr = self._arrays.get(value)
        if arr is None:
            arr = np.fromiter(self.rows.get(value, ()), dtype=np.int64)
            self._arrays[value] = arr
        return arr

    def mask(self, values, size):
        m = np.zeros(size, dtype=bool)
        for v in values:
            arr = self.array(v)
            m[arr[arr < size]] = True
        return m


class LocalVectorIndex:
    """Exact cosine search over L2-normalised float32 vectors."""

    def __init__(self, dimension=None):
        self.dimension = dimension
        self.matrix = np.zeros((0, dimension or 0), dtype=np.float32)
        self.size = 0

    def add(self, vectors):
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.dimension is None or self.matrix.shape[1] != vectors.shape[1]:
            if self.size:
                raise ValueError(f"vector dimension {vectors.shape[1]} does not match index dimension {self.dimension}")
            self.dimension = vectors.shape[1]
            self.matrix = np.zeros((0, self.dimension), dtype=np.float32)
        needed = self.size + len(vectors)
        if needed > len(self.matrix):
            grown = np.zeros((max(needed, 2 * len(self.matrix), 256), self.dimension), dtype=np.float32)
            grown[: self.size] = self.matrix[: self.size]
            self.matrix = grown
        self.matrix[self.size : needed] = vectors
        self.size = needed

    def scores(self, query):
        if self.size == 0:
            return np.zeros(0, dtype=np.float32)
        return self.matrix[: self.size] @ np.asarray(query, dtype=np.float32)


class LocalLexicalIndex:
    """BM25 over analysed terms (see ``search.analysis.analyse``)."""

    def __init__(self, k1=1.2, b=0.75):
        self.k1, self.b = k1, b
        self.postings = {}  # term -> ([rows], [tf])
        self._cache = {}
        self.lengths = []

    def add(self, row, terms):
        counts = {}
        for t in terms:
            counts[t] = counts.get(t, 0) + 1
        for t, tf in counts.items():
            rows, tfs = self.postings.setdefault(t, ([], []))
            rows.append(row)
            tfs.append(tf)
            self._cache.pop(t, None)
        while len(self.lengths) <= row:
            self.lengths.append(0)
        self.lengths[row] = len(terms)
        self._lengths_array = None

    def _posting(self, term):
        cached = self._cache.get(term)
        if cached is None:
            rows, tfs = self.postings.get(term, ((), ()))
            cached = (np.fromiter(rows, dtype=np.int64), np.fromiter(tfs, dtype=np.float32))
            self._cache[term] = cached
        return cached

    def scores(self, terms, alive, allowed):
        """BM25 scores of every row (0 where no term matches or not allowed)."""
        n = len(alive)
        out = np.zeros(n, dtype=np.float32)
        if getattr(self, "_lengths_array", None) is None or len(self._lengths_array) != len(self.lengths):
            self._lengths_array = np.asarray(self.lengths, dtype=np.float32)
        lengths = self._lengths_array[:n]
        live = alive[: len(lengths)]
        doc_count = int(live.sum())
        if doc_count == 0:
            return out
        avgdl = float(lengths[live].mean()) or 1.0
        for term in dict.fromkeys(terms):
            rows, tfs = self._posting(term)
            if not len(rows):
                continue
            keep = rows < n
            rows, tfs = rows[keep], tfs[keep]
            df = int(alive[rows].sum())
            if df == 0:
                continue
            idf = math.log(1 + (doc_count - df + 0.5) / (df + 0.5))
            sel = allowed[rows]
            r, tf = rows[sel], tfs[sel]
            denom = tf + self.k1 * (1 - self.b + self.b * lengths[r] / avgdl)
            out[r] += idf * tf * (self.k1 + 1) / denom
        return out


class LocalNamespaceIndex:
    """The in-memory copy of one namespace."""

    _serials = itertools.count(1)

    def __init__(self, options):
        self.options = options
        self.serial = next(self._serials)  # unlike id(), never reused by a later copy
        self.generation = -1
        self.checked_at, self.checked_writes = -math.inf, -1  # last look at the database (_refresh)
        self.epoch = -1
        self.vectors = LocalVectorIndex()
        self.lexical = LocalLexicalIndex(options.bm25_k1, options.bm25_b)
        self.values = {f: _Values() for f in FACET_FIELDS + ("access",)}
        self.page_ids = []
        self.rows = []  # (position, title, heading, text, metadata)
        self.alive = np.zeros(0, dtype=bool)
        self.page_rows = {}
        self.lock = threading.RLock()

    @property
    def size(self):
        return len(self.page_ids)

    def remove_page(self, page_id):
        for row in self.page_rows.pop(page_id, ()):
            self.alive[row] = False

    def add_chunk(self, page_id, position, title, heading, text, vector, metadata, terms):
        row = self.size
        self.page_ids.append(page_id)
        self.rows.append((position, title, heading, text, metadata))
        self.page_rows.setdefault(page_id, []).append(row)
        self.vectors.add(vector[None, :])
        self.lexical.add(row, terms)
        for f in FACET_FIELDS + ("access",):
            v = metadata.get(f)
            if v is None:
                continue
            self.values[f].add(row, v if isinstance(v, list) else [v])
        if len(self.alive) <= row:
            grown = np.zeros(max(256, 2 * len(self.alive)), dtype=bool)
            grown[: len(self.alive)] = self.alive
            self.alive = grown
        self.alive[row] = True

    def dead_fraction(self):
        return 1 - (int(self.alive[: self.size].sum()) / self.size) if self.size else 0.0

    # --- querying --------------------------------------------------------
    def allowed(self, filters):
        n = self.size
        mask = self.alive[:n].copy()
        for field, values in filters.terms():
            mask &= self.values[field].mask(values, n)
        for page_id in filters.exclude_pages:
            for row in self.page_rows.get(page_id, ()):
                mask[row] = False
        return mask

    def hit(self, row, score):
        """A hit without a highlight: the service highlights only the
        passages it shows (highlighting every candidate would dominate)."""
        position, title, heading, text, metadata = self.rows[row]
        return Hit(
            page_id=self.page_ids[row],
            position=position,
            score=float(score),
            title=title,
            heading=heading,
            text=text,
            highlight=None,
            metadata=metadata,
        )

    def top(self, scores, mask, limit):
        candidates = np.flatnonzero(mask)
        if not len(candidates):
            return []
        s = scores[candidates]
        if len(candidates) > limit:
            part = np.argpartition(-s, limit - 1)[:limit]
            candidates, s = candidates[part], s[part]
        order = np.lexsort((candidates, -s))  # ties broken by row for stable results
        return [(int(candidates[i]), float(s[i])) for i in order]

    def facets(self, matched):
        rows = np.flatnonzero(matched)
        if not len(rows):
            return {f: {} for f in FACET_FIELDS}, 0
        pages = np.asarray(self.page_ids, dtype=np.int64)[rows]
        _, first = np.unique(pages, return_index=True)
        reps = rows[first]
        rep_mask = np.zeros(self.size, dtype=bool)
        rep_mask[reps] = True
        out = {}
        for field in FACET_FIELDS:
            counts = {}
            for value in self.values[field].rows:
                arr = self.values[field].array(value)
                c = int(rep_mask[arr[arr < self.size]].sum())
                if c:
                    counts[value] = c
            out[field] = counts
        return out, len(reps)


# Writes made by this process (any backend object): a copy checked before
# the latest of them is checked again whatever the refresh interval.
_local_writes = itertools.count(1)
_latest_write = [0]


def _wrote():
    _latest_write[0] = next(_local_writes)


def _note_write():
    """Called by every write: now (later reads in this transaction) and on
    commit (reads by other threads, which only then see the rows)."""
    _wrote()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_wrote)


class LocalSearchBackend(BaseSearchBackend):
    options_class = LocalOptions

    def __init__(self, alias, options):
        super().__init__(alias, options)
        self._indexes = {}
        self._lock = threading.Lock()

    # --- writing -----------------------------------------------------------
    def _bump(self, namespace):
        _note_write()
        state, _ = NamespaceState.objects.select_for_update().get_or_create(namespace=namespace)
        NamespaceState.objects.filter(pk=state.pk).update(generation=F("generation") + 1)
        return state.generation + 1

    def index_page(self, namespace, page_id, chunks):
        with transaction.atomic():
            seq = self._bump(namespace)
            Chunk.objects.filter(namespace=namespace, page_id=page_id).delete()
            Tombstone.objects.create(namespace=namespace, page_id=page_id, seq=seq)
            Chunk.objects.bulk_create(
                [
                    Chunk(
                        namespace=namespace,
                        page_id=page_id,
                        position=c.position,
                        seq=seq,
                        title=c.title,
                        heading=c.heading,
                        text=c.text,
                        content_hash=c.content_hash,
                        model_id=c.model_id,
                        vector=np.asarray(c.vector, dtype=np.float32).tobytes(),
                        metadata={**c.metadata, "summary": c.summary},
                    )
                    for c in chunks
                ],
                batch_size=500,
            )

    def index_many(self, namespace, pages):
        """Index several pages in one transaction: {page_id: [ChunkRecord]}."""
        with transaction.atomic():
            for page_id, chunks in pages.items():
                self.index_page(namespace, page_id, chunks)

    def delete_page(self, namespace, page_id):
        with transaction.atomic():
            seq = self._bump(namespace)
            Chunk.objects.filter(namespace=namespace, page_id=page_id).delete()
            Tombstone.objects.create(namespace=namespace, page_id=page_id, seq=seq)

    def existing_vectors(self, namespace, content_hashes):
        rows = Chunk.objects.filter(content_hash__in=list(content_hashes)).values_list("content_hash", "vector")
        return {h: np.frombuffer(bytes(v), dtype=np.float32) for h, v in rows}

    def page_vector(self, namespace, page_id):
        index = self._index(namespace)
        with index.lock:
            rows = [r for r in index.page_rows.get(page_id, ()) if index.alive[r]]
            if not rows:
                return None
            v = index.vectors.matrix[rows].mean(axis=0)
        norm = np.linalg.norm(v)
        return v / norm if norm else None

    def start_rebuild(self, namespace):
        handle = f"{namespace}~rebuild"
        self.drop_namespace(handle)
        return handle

    def finish_rebuild(self, namespace, handle):
        _note_write()
        with transaction.atomic():
            state, _ = NamespaceState.objects.select_for_update().get_or_create(namespace=namespace)
            built = NamespaceState.objects.filter(namespace=handle).first()
            Chunk.objects.filter(namespace=namespace).delete()
            Tombstone.objects.filter(namespace__in=[namespace, handle]).delete()
            Chunk.objects.filter(namespace=handle).update(namespace=namespace)
            NamespaceState.objects.filter(pk=state.pk).update(
                epoch=F("epoch") + 1,
                generation=max(state.generation, built.generation if built else 0) + 1,
                rebuilt_at=timezone.now(),
            )
            NamespaceState.objects.filter(namespace=handle).delete()

    def drop_namespace(self, namespace):
        _note_write()
        with transaction.atomic():
            Chunk.objects.filter(namespace=namespace).delete()
            Tombstone.objects.filter(namespace=namespace).delete()
            NamespaceState.objects.filter(namespace=namespace).delete()
        with self._lock:
            self._indexes.pop(namespace, None)

    def count(self, namespace):
        qs = Chunk.objects.filter(namespace=namespace)
        return qs.values("page_id").distinct().count(), qs.count()

    # --- the in-memory copy ----------------------------------------------
    def _index(self, namespace):
        with self._lock:
            index = self._indexes.get(namespace)
            if index is None:
                index = self._indexes[namespace] = LocalNamespaceIndex(self.options)
        self._refresh(namespace, index)
        return index

    def _refresh(self, namespace, index):
        now, writes = time.monotonic(), _latest_write[0]
        if index.checked_writes == writes and now - index.checked_at < self.options.refresh_interval:
            return  # checked a moment ago, and this process wrote nothing since
        index.checked_at, index.checked_writes = now, writes
        state = NamespaceState.objects.filter(namespace=namespace).values("generation", "epoch").first()
        generation, epoch = (state["generation"], state["epoch"]) if state else (0, 0)
        if generation == index.generation and epoch == index.epoch:
            return
        with index.lock:
            if generation == index.generation and epoch == index.epoch:
                return
            full = epoch != index.epoch or index.dead_fraction() > 0.3
            if full:
                fresh = LocalNamespaceIndex(self.options)
                fresh.lock = index.lock
                since = -1
            else:
                fresh, since = index, index.generation
            tombstoned = Tombstone.objects.filter(namespace=namespace, seq__gt=since, seq__lte=generation)
            for page_id in set(tombstoned.values_list("page_id", flat=True)):
                fresh.remove_page(page_id)
            rows = (
                Chunk.objects.filter(namespace=namespace, seq__gt=since, seq__lte=generation)
                .order_by("page_id", "position")
                .values_list("page_id", "position", "title", "heading", "text", "vector", "metadata")
                .iterator(chunk_size=2000)
            )
            from ..analysis import analyse

            for page_id, position, title, heading, text, vector, metadata in rows:
                summary = metadata.get("summary", "")
                terms = analyse(text) + analyse(heading) + analyse(title) * 2 + analyse(summary)
                fresh.add_chunk(
                    page_id, position, title, heading, text,
                    np.frombuffer(bytes(vector), dtype=np.float32), metadata, terms,
                )
            fresh.generation, fresh.epoch = generation, epoch
            if full:
                index.__dict__.update(fresh.__dict__)

    # --- reading -----------------------------------------------------------
    def result_version(self, namespace):
        # Every write bumps the namespace's generation and a rebuild its
        # epoch; the in-memory copy is brought up to date first.
        index = self._index(namespace)
        return (index.serial, index.epoch, index.generation)

    def search(self, namespace, *, text, terms, vector, filters, mode, limit, with_facets=True):
        index = self._index(namespace)
        with index.lock:
            n = index.size
            allowed = index.allowed(filters) if n else np.zeros(0, dtype=bool)
            lexical_hits, vector_hits = [], []
            matched = np.zeros(n, dtype=bool)
            if mode in ("lexical", "hybrid") and terms and n:
                scores = index.lexical.scores(terms, index.alive[:n], allowed)
                hit_mask = scores > 0
                matched |= hit_mask
                lexical_hits = [index.hit(r, s) for r, s in index.top(scores, hit_mask, limit)]
            if mode in ("semantic", "hybrid") and vector is not None and n:
                scores = index.vectors.scores(vector)
                top = index.top(scores, allowed, limit)
                vector_hits = [index.hit(r, s) for r, s in top]
                for r, s in top:
                    if s >= self.options.min_similarity:
                        matched[r] = True
            facets, total = index.facets(matched) if with_facets else ({}, 0)
        return BackendResult(lexical=lexical_hits, vector=vector_hits, facets=facets, total_pages=total)

    def health(self):
        return {"status": "green", "detail": "embedded index in the project database"}


SearchBackend = LocalSearchBackend
