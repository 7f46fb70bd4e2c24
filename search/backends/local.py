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

import collections
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
    #: a cached result page is reused after other pages changed (see
    #: ``still_valid``) while the collection's BM25 statistics (live chunks,
    #: mean length) have moved by at most this fraction since it was ranked;
    #: 0 reuses a result only while the index is exactly as it was
    reuse_stats_tolerance: float = 0.01


@dataclasses.dataclass(frozen=True)
class ReuseProbe:
    """What a ranked result depended on, kept with it in the service's cache
    so that ``LocalSearchBackend.still_valid`` can tell, after other pages
    were re-indexed, whether any of those changes could have touched it."""

    terms: tuple  # the analysed query terms (lexical side), () if it did not run
    vector: object  # the query vector (vector side), None if it did not run
    floor: float  # a chunk scoring below this could not have entered the vector candidates
    doc_count: int  # BM25 collection statistics when it was ranked
    avgdl: float


#: metadata that ranking, filtering or counting reads; the rest (URL, unit
#: name, revision, last review) is only shown with a result
RANKED_METADATA = FACET_FIELDS + ("access", "successor_id")


class _Values:
    """value -> rows holding it, with cached numpy arrays."""

    def __init__(self):
        self.rows = {}
        self._arrays = {}
        self._layout = None

    def add(self, row, values):
        for v in values:
            self.rows.setdefault(v, []).append(row)
            self._arrays.pop(v, None)
        self._layout = None

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

    def _by_row(self, size):
        """(values, offsets, value numbers): the values of rows 0..size-1
        laid out row after row, row r's at offsets[r]:offsets[r + 1] (a
        sparse row layout, as CSR), made again after rows were added."""
        if self._layout is None or len(self._layout[1]) != size + 1:
            values = list(self.rows)
            rows = np.concatenate([self.array(v) for v in values]) if values else np.zeros(0, dtype=np.int64)
            numbers = np.repeat(np.arange(len(values)), [len(self.rows[v]) for v in values])
            keep = rows < size
            rows, numbers = rows[keep], numbers[keep]
            order = np.argsort(rows, kind="stable")
            offsets = np.searchsorted(rows[order], np.arange(size + 1))
            self._layout = (values, offsets, numbers[order])
        return self._layout

    def counts(self, rows, size):
        """{value: how many of ``rows`` (distinct, each below ``size``) hold
        it}, values held by none left out, in the order the values were
        first added. Costs in proportion to ``rows``, not to the index."""
        values, offsets, numbers = self._by_row(size)
        if not len(values) or not len(rows):
            return {}
        starts, lengths = offsets[rows], offsets[rows + 1] - offsets[rows]
        total = int(lengths.sum())
        if not total:
            return {}
        # the positions of every value of every row asked for, in one array
        positions = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
        counted = np.bincount(numbers[positions], minlength=len(values))
        return {values[i]: int(counted[i]) for i in np.flatnonzero(counted).tolist()}


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

    def rows_holding(self, terms, rows):
        """Those of ``rows`` (a sorted array) that hold any of ``terms``."""
        found = set()
        for term in dict.fromkeys(terms):
            posting, _ = self._posting(term)
            if len(posting):
                found.update(rows[np.isin(rows, posting, assume_unique=True)].tolist())
        return found

    def tf(self, term, row):
        """How often ``term`` occurs in ``row`` (0 if not at all)."""
        posting, tfs = self._posting(term)
        i = int(np.searchsorted(posting, row))
        return float(tfs[i]) if i < len(posting) and posting[i] == row else 0.0

    def _length_array(self):
        if getattr(self, "_lengths_array", None) is None or len(self._lengths_array) != len(self.lengths):
            self._lengths_array = np.asarray(self.lengths, dtype=np.float32)
        return self._lengths_array

    def stats(self, alive):
        """(live chunks, mean length in terms): what BM25 normalises with."""
        lengths = self._length_array()[: len(alive)]
        live = alive[: len(lengths)]
        doc_count = int(live.sum())
        return doc_count, (float(lengths[live].mean()) if doc_count else 0.0)

    def scores(self, terms, alive, allowed, stats=None):
        """BM25 scores of every row (0 where no term matches or not allowed);
        ``stats`` is ``self.stats(alive)`` if the caller has it already."""
        n = len(alive)
        out = np.zeros(n, dtype=np.float32)
        lengths = self._length_array()[:n]
        doc_count, avgdl = stats or self.stats(alive)
        if doc_count == 0:
            return out
        avgdl = avgdl or 1.0
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
        self._page_ids_array = None  # np.asarray(page_ids), made again when rows were added
        self.rows = []  # (position, title, heading, text, metadata)
        self.alive = np.zeros(0, dtype=bool)
        self.page_rows = {}
        self.lock = threading.RLock()
        # (from generation, to generation, rows changed, pages re-indexed):
        # one entry per incremental refresh, newest last; a full reload
        # starts a new copy (another serial) with an empty log.
        self.changes = collections.deque(maxlen=256)

    def changed_since(self, generation, limit=5000):
        """The refreshes after ``generation``, oldest first, as (rows whose
        content changed, their partners, pages re-indexed); None if this copy
        cannot say: the log does not reach back so far, or more than
        ``limit`` rows changed (not worth checking one by one)."""
        if generation == self.generation:
            return []
        steps, found, count = [], False, 0
        for start, _end, rows, partners, reindexed in self.changes:
            found = found or start == generation
            if found:
                steps.append((rows, partners, reindexed))
                count += len(rows)
        if not found or count > limit:
            return None
        return steps

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

    def changed_rows(self, removed, first_added):
        """(rows that changed, their partners, pages re-indexed) for one
        refresh: the rows removed ({page: rows}) and those added from
        ``first_added`` on. A page is re-indexed whole on every publish, but
        most of its chunks come back as they were: a removed and an added
        row of the same page with the same signature (``_signature``) cancel
        out. A changed row's partner is the row at the same position of the
        same page on the other side (-1 if none): ``lexically_same`` compares
        the two."""
        pages = set(removed)
        added = {}
        for row in range(first_added, self.size):
            pages.add(self.page_ids[row])
            added.setdefault(self.page_ids[row], []).append(row)
        changed = {}
        for page_id in pages:
            old = {}
            for row in removed.get(page_id, ()):
                old.setdefault(self._signature(row), []).append(row)
            new = []
            for row in added.get(page_id, ()):
                same = old.get(self._signature(row))
                if same:
                    same.pop()
                else:
                    new.append(row)
            gone = [r for rows in old.values() for r in rows]
            by_position = {self.rows[r][0]: r for r in gone}
            for row in new:
                partner = by_position.pop(self.rows[row][0], -1)
                changed[row] = partner
                if partner >= 0:
                    changed[partner] = row
            for row in gone:
                changed.setdefault(row, -1)
        rows = np.asarray(sorted(changed), dtype=np.int64)
        return rows, np.asarray([changed[r] for r in rows.tolist()], dtype=np.int64), frozenset(pages)

    def lexically_same(self, row, partner, terms):
        """Whether ``row`` and ``partner`` score alike for ``terms`` under
        BM25 and are filtered and counted alike: same length, same count of
        each term, same ranked metadata. An edit elsewhere in a passage (a
        date, a name) leaves it so for a query that does not ask for them."""
        if partner < 0 or self.lexical.lengths[row] != self.lexical.lengths[partner]:
            return False
        meta, other = self.rows[row][4], self.rows[partner][4]
        if any(meta.get(k) != other.get(k) for k in RANKED_METADATA):
            return False
        return all(self.lexical.tf(t, row) == self.lexical.tf(t, partner) for t in terms)

    def _signature(self, row):
        """Everything about a chunk that can move a ranking, a count or a filter."""
        _position, title, heading, text, metadata = self.rows[row]
        return (title, heading, text, metadata.get("summary", ""), self.vectors.matrix[row].tobytes(),
                repr([metadata.get(k) for k in RANKED_METADATA]))

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

    def hits(self, top):
        """Hits for (row, score) pairs, without a highlight: the service
        highlights only the passages it shows (highlighting every candidate
        would dominate). Built in one loop, positionally: a search makes
        hundreds of them."""
        rows, page_ids, out = self.rows, self.page_ids, []
        for row, score in top:
            position, title, heading, text, metadata = rows[row]
            out.append(Hit(page_ids[row], position, score, title, heading, text, None, metadata))
        return out

    def top(self, scores, mask, limit):
        """The ``limit`` best (row, score) pairs among ``mask``, best first."""
        candidates = np.flatnonzero(mask)
        if not len(candidates):
            return []
        s = scores[candidates]
        if len(candidates) > limit:
            part = np.argpartition(-s, limit - 1)[:limit]
            candidates, s = candidates[part], s[part]
        order = np.lexsort((candidates, -s))  # ties broken by row for stable results
        return list(zip(candidates[order].tolist(), s[order].tolist()))

    def page_ids_array(self):
        if self._page_ids_array is None or len(self._page_ids_array) != len(self.page_ids):
            self._page_ids_array = np.asarray(self.page_ids, dtype=np.int64)
        return self._page_ids_array

    def facets(self, matched):
        """({field: {value: pages}}, pages) over the rows in ``matched``:
        each page counted once, by its first matching row (a page's chunks
        share its metadata)."""
        rows = np.flatnonzero(matched)
        if not len(rows):
            return {f: {} for f in FACET_FIELDS}, 0
        pages = self.page_ids_array()[rows]
        _, first = np.unique(pages, return_index=True)
        reps = rows[first]
        return {field: self.values[field].counts(reps, self.size) for field in FACET_FIELDS}, len(reps)


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
            removed = {}  # page -> its rows before this refresh
            for page_id in set(tombstoned.values_list("page_id", flat=True)):
                removed[page_id] = list(fresh.page_rows.get(page_id, ()))
                fresh.remove_page(page_id)
            first_added = fresh.size
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
            if not full:
                fresh.changes.append((since, generation, *fresh.changed_rows(removed, first_added)))
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
            probe_terms, probe_vector, floor = (), None, -math.inf
            stats = index.lexical.stats(index.alive[:n])  # for BM25 and for the probe
            if mode in ("lexical", "hybrid") and terms and n:
                scores = index.lexical.scores(terms, index.alive[:n], allowed, stats)
                hit_mask = scores > 0
                matched |= hit_mask
                lexical_hits = index.hits(index.top(scores, hit_mask, limit))
                probe_terms = tuple(dict.fromkeys(terms))
            if mode in ("semantic", "hybrid") and vector is not None and n:
                scores = index.vectors.scores(vector)
                top = index.top(scores, allowed, limit)
                vector_hits = index.hits(top)
                for r, s in top:
                    if s >= self.options.min_similarity:
                        matched[r] = True
                probe_vector = np.array(vector, dtype=np.float32)
                if len(top) == limit:  # a full list: a newcomer must beat its last
                    floor = top[-1][1]
            facets, total = index.facets(matched) if with_facets else ({}, 0)
        probe = ReuseProbe(probe_terms, probe_vector, floor, *stats) if n else None
        return BackendResult(lexical=lexical_hits, vector=vector_hits, facets=facets, total_pages=total, reuse=probe)

    def still_valid(self, namespace, then, probe, shown=()):
        """Whether a result ranked at version ``then`` with ``probe`` would
        come out the same now. Pages re-indexed since are checked chunk by
        chunk, old and new: none may hold a query term (it could enter,
        leave or move in the lexical ranking, the facets or the total) or
        lie as close to the query vector as the last vector candidate did.
        Pages that pass both could not have been ranked or counted. Chunks
        that came back unchanged when their page was re-indexed do not count
        as changes, unless their page is among those ``shown`` (the result
        displays its URL, unit and review date, which may have moved).

        What such pages still move are BM25's collection statistics (live
        chunks, mean length), which scale every lexical score a little; the
        result is reused while they stay within ``reuse_stats_tolerance``.
        Lucene's own statistics are looser than that: they count deleted
        documents until segments merge. A rebuild, another process's copy,
        or more changes than the log holds: not reused.

        Passages of exactly equal score are ordered by row, as Elasticsearch
        orders them by internal document id; a passage that came back with
        the same score under a new row may swap places with such a twin."""
        if probe is None or not self.options.reuse_stats_tolerance:
            return False
        index = self._index(namespace)
        with index.lock:
            if (index.serial, index.epoch) != tuple(then[:2]):
                return False
            steps = index.changed_since(then[2])
            if steps is None:
                return False
            for rows, partners, reindexed in steps:
                if not reindexed.isdisjoint(shown):
                    return False
                if not len(rows):
                    continue
                if probe.vector is not None and float((index.vectors.matrix[rows] @ probe.vector).max()) >= probe.floor:
                    return False
                if probe.terms:
                    touched = index.lexical.rows_holding(probe.terms, rows)
                    by_row = dict(zip(rows.tolist(), partners.tolist()))
                    if any(not index.lexically_same(r, by_row[r], probe.terms) for r in touched):
                        return False
            n = index.size
            doc_count, avgdl = index.lexical.stats(index.alive[:n])
        tolerance = self.options.reuse_stats_tolerance
        return (
            abs(doc_count - probe.doc_count) <= tolerance * max(probe.doc_count, 1)
            and abs(avgdl - probe.avgdl) <= tolerance * max(probe.avgdl, 1e-9)
        )

    def health(self):
        return {"status": "green", "detail": "embedded index in the project database"}


SearchBackend = LocalSearchBackend
