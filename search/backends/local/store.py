"""One namespace's index directory: writing under a lock, reading snapshots.

    <root>/<namespace>/CURRENT          name of the live generation, e.g. g000002
    <root>/<namespace>/write.lock       held (flock) by the one process writing
    <root>/<namespace>/g000002/text/    tantivy: one document per chunk
    <root>/<namespace>/g000002/pages/   tantivy: one document per page (facets, totals)
    <root>/<namespace>/g000002/vectors/ segments, live-row files, manifest.json

A write (any process: the Celery worker, ``search_reindex``, a test running
tasks eagerly) takes the namespace's lock, writes the new vector segment and
live-row files, commits tantivy, and last replaces ``manifest.json`` (an
atomic rename): the manifest is the commit point readers look at. A writer
killed at any step leaves the last manifest and the last tantivy commit as
they were; what it wrote after them is unreferenced and removed later. If it
dies between the tantivy commit and the manifest, the two disagree about the
pages of that one write until the task that wrote them runs again (it is
retried: late acks and the outbox) or ``search_reindex`` rebuilds; chunk ids
are never reused, so a vector whose chunk is gone from tantivy is skipped
and a passage is never shown under another's permissions.

Readers stat the manifest before each search and reopen what changed, so a
commit is seen by the next search in every process.
"""

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path

import numpy as np

from . import lexical
from .vectors import VectorSegment, _fsync_write, _save_npy, segment_metadatas, write_segment

NAMESPACE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.~-]{0,99}$")
#: unreferenced files are kept this long for readers that read the manifest just before
GRACE_SECONDS = 60.0


#: the layout and schema this code reads and writes; a generation written by
#: other code is refused until ``search_reindex`` builds a new one
#: (2: a hyphenated word's whole is indexed written as one word, "gh1")
FORMAT = 2


class IndexLockTimeout(RuntimeError):
    """Another process held the namespace's write lock for too long."""


class IndexOutdated(RuntimeError):
    """The namespace's index was written in another format: rebuild it."""


def check_format(manifest, where):
    if manifest.get("format", 1) != FORMAT:
        raise IndexOutdated(f"the search index in {where} has format {manifest.get('format')!r}, this code reads "
                            f"{FORMAT}: run `manage.py search_reindex`")


class NamespaceStore:
    def __init__(self, root, namespace, options):
        if not NAMESPACE.match(namespace):
            raise ValueError(f"{namespace!r} cannot name a search namespace")
        self.namespace, self.options = namespace, options
        self.dir = Path(root) / namespace
        self._thread_lock = threading.RLock()
        self._segments = {}

    # --- locations -----------------------------------------------------------
    def current(self):
        try:
            name = (self.dir / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return self.dir / name if name else None

    def version(self):
        """What a reader compares to see whether anything was committed."""
        current = self.current()
        if current is None:
            return None
        try:
            st = os.stat(current / "vectors" / "manifest.json")
        except FileNotFoundError:
            return None
        return (current.name, st.st_mtime_ns, st.st_ino)

    @staticmethod
    def read_manifest(generation_dir):
        return json.loads((Path(generation_dir) / "vectors" / "manifest.json").read_text())

    # --- the lock ------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self):
        """Hold the namespace's write lock (threads of this process, then
        other processes through flock), waiting at most ``lock_timeout``."""
        with self._thread_lock:
            self.dir.mkdir(parents=True, exist_ok=True)
            with open(self.dir / "write.lock", "a+") as fh:
                deadline = time.monotonic() + float(self.options.lock_timeout)
                while True:
                    try:
                        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except OSError as exc:
                        if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                            raise IndexLockTimeout(f"search index {self.namespace!r} is locked by another writer") from exc
                        time.sleep(0.02)
                try:
                    yield
                finally:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # --- generations -----------------------------------------------------------
    def new_generation(self):
        """An empty generation directory (not yet live)."""
        existing = [int(p.name[1:]) for p in self.dir.glob("g[0-9]*") if p.name[1:].isdigit()] if self.dir.exists() else []
        gen = self.dir / f"g{max(existing, default=0) + 1:06d}"
        (gen / "vectors").mkdir(parents=True)
        for part in lexical.PARTS:
            (gen / part).mkdir()
            lexical.open_index(gen / part, create=True)
        self._write_manifest(gen, {"format": FORMAT, "generation": 0, "next_uid": 1, "dimension": None,
                                   "segments": []})
        return gen

    def make_current(self, generation_dir):
        """Point CURRENT at ``generation_dir`` (atomically); generations
        older than the one it replaces are deleted."""
        previous = self.current()
        _fsync_write(self.dir / "CURRENT", Path(generation_dir).name.encode())
        keep = {Path(generation_dir).name, previous.name if previous else ""}
        for old in self.dir.glob("g[0-9]*"):
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)

    def drop(self):
        with self.locked():
            for child in list(self.dir.iterdir()):
                if child.name != "write.lock":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()

    @staticmethod
    def _write_manifest(generation_dir, manifest):
        _fsync_write(Path(generation_dir) / "vectors" / "manifest.json", json.dumps(manifest).encode())

    # --- writing -----------------------------------------------------------
    def write(self, pages=None, deleted=()):
        """Replace the chunks of each page in ``pages`` ({page_id:
        [ChunkRecord]}) and remove the pages in ``deleted``, in one commit."""
        pages = pages or {}
        touched = sorted(set(pages) | set(deleted))
        if not touched:
            return
        with self.locked():
            gen = self.current()
            if gen is None:
                gen = self.new_generation()
                self.make_current(gen)
            manifest = self.read_manifest(gen)
            check_format(manifest, gen)
            step = manifest["generation"] + 1
            records = [r for chunks in pages.values() for r in chunks]
            if records:
                dimension = len(records[0].vector)
                if manifest["dimension"] not in (None, dimension) or any(len(r.vector) != dimension for r in records):
                    raise ValueError(f"vector dimension {dimension} does not match index dimension {manifest['dimension']}")
                manifest["dimension"] = dimension
            self._mark_dead(gen, manifest, np.asarray(touched, dtype=np.int64), step)
            if records:
                uids = np.arange(manifest["next_uid"], manifest["next_uid"] + len(records), dtype=np.int64)
                manifest["next_uid"] += len(records)
                name = write_segment(
                    gen / "vectors" / f"s{step:08d}", [r.vector for r in records], uids,
                    [r.page_id for r in records], [r.metadata for r in records], self.options, graph=False,
                )
                manifest["segments"].append({"name": name, "live": None})
            else:
                uids = []
            writers = self._commit_text(gen, touched, pages, uids)
            try:
                manifest["generation"] = step
                self._write_manifest(gen, manifest)
            finally:
                # tantivy's merges of small segments run after the commit; the
                # write is searchable before they end (readers reload on the
                # manifest), the next writer waits for them through the lock
                for writer in writers:
                    writer.wait_merging_threads()
            self._merge_small(gen, manifest)
            self._collect_garbage(gen, manifest)

    def _segment(self, gen, entry):
        """A segment for the writer, kept open between writes (a segment never
        changes; its live rows are a file of the commit)."""
        directory = gen / "vectors" / entry["name"]
        st = os.stat(directory / "segment.json")
        key = (str(directory), st.st_ino, st.st_mtime_ns)
        segment = self._segments.get(key)
        if segment is None:
            segment = self._segments[key] = VectorSegment(directory, entry["live"])
        elif segment.live_file != entry["live"]:
            segment = self._segments[key] = segment.with_live(entry["live"])
        return segment

    def _mark_dead(self, gen, manifest, page_ids, step):
        named = {str(gen / "vectors" / e["name"]) for e in manifest["segments"]}
        self._segments = {k: v for k, v in self._segments.items() if k[0] in named}
        for entry in manifest["segments"]:
            segment = self._segment(gen, entry)
            live = segment.live_mask()
            gone = live & np.isin(segment.pages, page_ids)
            if gone.any():
                live &= ~gone
                entry["live"] = f"live-{step:08d}.npy"
                _save_npy(segment.directory / entry["live"], live)

    def _commit_text(self, gen, touched, pages, uids):
        """Commit chunks first, then pages (a reader between the two commits
        counts facets one write behind the passages it ranks); returns the
        committed writers, whose background merges may still be running."""
        documents = {"text": [], "pages": []}
        at = 0
        for page_id, chunks in pages.items():
            analysed = []
            for record in chunks:
                analysed.append(lexical.analysed_fields(record))
                documents["text"].append(lexical.chunk_document(int(uids[at]), record, analysed[-1]))
                at += 1
            if chunks:
                documents["pages"].append(lexical.page_document(page_id, chunks, analysed))
        # the two indexes commit side by side (tantivy releases the GIL; most
        # of a commit is waiting for fsync): a write is searchable sooner
        results = {}

        def commit(part):
            try:
                writer = lexical.open_index(gen / part).writer(int(self.options.writer_heap_mb) * 1_000_000, 1)
            except BaseException as exc:
                results[part] = exc
                return
            try:
                for page_id in touched:
                    writer.delete_documents_by_term("page_id", int(page_id))
                for doc in documents[part]:
                    writer.add_document(doc)
                writer.commit()
                results[part] = writer
            except BaseException as exc:
                writer.rollback()
                writer.wait_merging_threads()
                results[part] = exc

        threads = [threading.Thread(target=commit, args=(part,), name=f"commit-{part}") for part in lexical.PARTS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        committed = [r for r in results.values() if not isinstance(r, BaseException)]
        failed = [r for r in results.values() if isinstance(r, BaseException)]
        if failed:
            for writer in committed:
                writer.wait_merging_threads()
            raise failed[0]
        return committed

    def _merge_small(self, gen, manifest):
        """Merge the graph-less segments into one once there are too many
        (live rows only; a graph is built if the result is large enough)."""
        small = [e for e in manifest["segments"] if not self._has_graph(gen, e)]
        if len(small) <= int(self.options.max_small_segments):
            return
        segments = [VectorSegment(gen / "vectors" / e["name"], e["live"]) for e in small]
        lives = [s.live_mask() for s in segments]
        step = manifest["generation"] + 1
        name = write_segment(
            gen / "vectors" / f"m{step:08d}",
            np.concatenate([s.vectors[m] for s, m in zip(segments, lives)]),
            np.concatenate([s.uids[m] for s, m in zip(segments, lives)]),
            np.concatenate([s.pages[m] for s, m in zip(segments, lives)]),
            [meta for s, m in zip(segments, lives) for meta in segment_metadatas(s, m)],
            self.options,
        )
        names = {e["name"] for e in small}
        manifest["segments"] = [e for e in manifest["segments"] if e["name"] not in names] + [{"name": name, "live": None}]
        manifest["generation"] = step
        self._write_manifest(gen, manifest)

    @staticmethod
    def _has_graph(gen, entry):
        return (gen / "vectors" / entry["name"] / "hnsw.faiss").exists()

    def _collect_garbage(self, gen, manifest):
        """Delete segment directories and live-row files the manifest no
        longer names, once they have been unreferenced for GRACE_SECONDS."""
        vectors = gen / "vectors"
        referenced = {e["name"]: e["live"] for e in manifest["segments"]}
        retired_path = vectors / "retired.json"
        retired = json.loads(retired_path.read_text()) if retired_path.exists() else {}
        before = dict(retired)
        now = time.time()
        for child in vectors.iterdir():
            if child.is_dir():
                candidates = [child] if child.name not in referenced else [
                    f for f in child.glob("live-*.npy") if f.name != referenced[child.name]]
                for path in candidates:
                    key = str(path.relative_to(vectors))
                    since = retired.setdefault(key, now)
                    if now - since > GRACE_SECONDS:
                        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                        retired.pop(key, None)
        kept = {k: v for k, v in retired.items() if (vectors / k).exists()}
        if not retired_path.exists() or kept != before:
            _fsync_write(retired_path, json.dumps(kept).encode())


class Snapshot:
    """One consistent view of a namespace: the tantivy searchers (chunks,
    pages) and the vector segments of the same commit."""

    def __init__(self, version, indexes, segments, generation):
        self.version, self.indexes, self.segments, self.generation = version, indexes, segments, generation
        self.searcher = indexes["text"].searcher()
        self.pages = indexes["pages"].searcher()


class NamespaceReader:
    """A process's reader of one namespace, reopened when a commit shows."""

    def __init__(self, store):
        self.store = store
        self._lock = threading.Lock()
        self._snapshot = None

    def snapshot(self):
        version = self.store.version()
        snap = self._snapshot
        if snap is not None and snap.version == version:
            return snap
        if version is None:
            return None
        with self._lock:
            snap = self._snapshot
            if snap is None or snap.version != version:
                self._snapshot = snap = self._open(version, snap)
        return snap

    def _open(self, version, previous):
        gen = self.store.dir / version[0]
        manifest = self.store.read_manifest(gen)
        check_format(manifest, gen)
        if previous is not None and previous.version[0] == version[0]:
            indexes = previous.indexes
            for index in indexes.values():
                index.reload()
            known = {s.name: s for s in previous.segments}
        else:
            indexes = {part: lexical.open_index(gen / part) for part in lexical.PARTS}
            for index in indexes.values():
                index.config_reader("Manual")
            known = {}
        segments = []
        for entry in manifest["segments"]:
            seen = known.get(entry["name"])
            if seen is None:
                seen = VectorSegment(gen / "vectors" / entry["name"], entry["live"])
            elif seen.live_file != entry["live"]:
                seen = seen.with_live(entry["live"])
            segments.append(seen)
        return Snapshot(version, indexes, segments, manifest["generation"])
