"""Search benchmark for the embedded index: indexing, query latency per mode
at each corpus size, a web worker's start-up time and memory, vector recall
of the filtered graph search, and publish-to-searchable through a real worker.

    .venv/bin/python bench/search.py [--sizes 10000,100000,1000000] [--queries 300]
        [--fixtures var/bench-search] [--rebuild | --reindex] [--publish-only]
        [--json bench/results/search.json]

Corpus: synthetic chunks made from the shipped civil-service collection's
sentences (four random sentences under a random title of the collection),
with the metadata a real page has (content type, topics, units, status,
audience and access tokens: a third public, a third internal, a third
restricted to one of 50 groups). The real model embeds a base of distinct
chunks ("with embedding" throughput); the corpus's vectors are those with
small random perturbations (re-normalised), so vector search does real work
without spending days embedding. Each size is indexed as ``search_reindex``
does (rows into the database, then one pass building the index) and kept
under ``--fixtures`` (not committed) to be reused by the next run; --rebuild
makes them again.

Queries are the collection's questions, embedded by the real model on every
call (included in latency; through ONNX Runtime as the web processes do),
with the query-vector cache off; three kinds of viewer in turn (anonymous,
signed in, signed in with a group), so the access filter is always applied
inside both retrievals. The worker probe is a new process that loads the
model, then opens the index and answers searches, as a web worker does: its
start-up and its memory (RSS, PSS and anonymous memory from
/proc/self/smaps_rollup) are measured before and after.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, directory_environment, machine, peak_rss_mb  # noqa: E402

VIEWERS = (["public"], ["public", "auth"], ["public", "auth", "group:7"])


def percentiles(samples):
    import numpy as np

    a = np.asarray(samples)
    return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
            "p99_ms": round(float(np.percentile(a, 99)), 2), "mean_ms": round(float(a.mean()), 2)}


def build_texts(n, seed=7):
    from search.evaluation import read_jsonl

    corpus = read_jsonl(ROOT / "tests/data/civil_service_beir/corpus.jsonl")
    sentences = [s.strip() + "." for d in corpus for s in d["text"].split(".") if len(s.split()) > 4]
    titles = [d["title"] for d in corpus]
    rng = random.Random(seed)
    return [(rng.choice(titles), " ".join(rng.sample(sentences, 4))) for _ in range(n)]


def records_for(texts, vectors, start_id, model_id):
    from search.backends.base import ChunkRecord

    out = {}
    for i, ((title, text), vec) in enumerate(zip(texts, vectors)):
        pid = start_id + i
        meta = {"content_type": ["policy", "procedure", "lesson"][pid % 3], "topics": [f"t{pid % 12}"],
                "units": [f"u{pid % 9}"], "status": "current", "audience": ["public", "internal", "restricted"][pid % 3],
                "freshness": "fresh", "access": [["public", "superuser"], ["auth", "superuser"], [f"group:{pid % 50}", "superuser"]][pid % 3],
                "url": f"/p/{pid}/", "unit_name": "Unit"}
        out[pid] = [ChunkRecord(page_id=pid, position=0, title=title, heading="", text=text, summary="",
                                content_hash=f"bench-{pid}", model_id=model_id, vector=vec, metadata=meta)]
    return out


def smaps():
    """(RSS, PSS, anonymous) of this process in MB."""
    out = {}
    with open("/proc/self/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:", "Anonymous:"):
                out[parts[0][:-1].lower()] = round(int(parts[1]) / 1024, 1)
    return out


def fixture_environment(directory):
    """Django on the persistent fixture directory, migrated."""
    directory.mkdir(parents=True, exist_ok=True)
    directory_environment(directory)


def build_fixture(backend, ns, size, base_vectors, model_id):
    """Index ``size`` synthetic chunks into ``ns`` the way search_reindex
    does; returns the seconds each step took."""
    import numpy as np

    rng = np.random.default_rng(size)
    texts = build_texts(size, seed=size)
    handle = backend.start_rebuild(ns)
    t0 = time.perf_counter()
    for start in range(0, size, 5000):
        n = min(5000, size - start)
        vectors = base_vectors[rng.integers(0, len(base_vectors), n)] + rng.normal(0, 0.02, (n, base_vectors.shape[1])).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        backend.index_many(handle, records_for(texts[start:start + n], vectors, start + 1, model_id))
        if start % 100_000 == 0:
            print(f"  {ns}: {start + n} rows stored ({time.perf_counter() - t0:.0f} s)", flush=True)
    store_s = time.perf_counter() - t0
    return {"chunks": size, "store_rows_s": round(store_s, 1), **build_index(backend, ns, handle)}


def build_index(backend, ns, handle=None):
    """Build the index of the rows stored under ``handle`` and make it
    ``ns``'s (no handle: build ``ns``'s index again from its rows);
    seconds in all and per stage (wall clock), and the CPU seconds of
    every thread of this process."""
    timings = {}
    t0, c0 = time.perf_counter(), time.process_time()
    if handle is None:
        backend.rebuild_index(ns, timings=timings)
    else:
        backend.finish_rebuild(ns, handle, timings=timings)
    return {"build_index_s": round(time.perf_counter() - t0, 1), "build_index_cpu_s": round(time.process_time() - c0, 1),
            "stages_s": {k: round(v, 1) for k, v in timings.items()}}


def latency(service, queries, n, mode, **filters):
    """Wall-clock percentiles of ``n`` searches, and the same of the CPU
    time this process spent on each (``cpu``): a search runs on one thread,
    so on a machine other work keeps busy the CPU time is close to what the
    latency would be on a quiet one."""
    from search.service import SearchRequest

    samples, cpu = [], []
    for i in range(n):
        t, c = time.perf_counter(), time.process_time()
        service.search(SearchRequest(q=queries[i % len(queries)], mode=mode, filters=dict(filters)), access=VIEWERS[i % 3])
        samples.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return {**percentiles(samples), "cpu": percentiles(cpu)}


def vector_recall(backend, ns, embedder, queries, limit=200, options=None):
    """The filtered graph search against an exact scan of the same allowed
    rows, averaged over the queries: recall at 10 and at ``limit`` (the
    exact top ids found), and, since the synthetic corpus is made of
    near-copies whose scores tie to the third decimal, two measures that
    tell a near-tie swapped from a neighbour missed: recall at 10 counting
    a hit within 0.01 of the exact tenth score as found (ann-benchmarks'
    epsilon recall), and how far the tenth score found falls below the
    exact one."""
    from search.backends.base import Filters
    from search.backends.local.vectors import search_segments

    snapshot = backend.reader(ns).snapshot()
    options = options or backend.options
    exact = type(options)(**{**options.__dict__, "exact_search_below": 10**12})
    at10, atk, eps10, gap10 = [], [], [], []
    for i, q in enumerate(queries):
        v = embedder.embed_query(q)
        filters = Filters(access=VIEWERS[i % 3])
        got = search_segments(snapshot.segments, v, filters, limit, options)
        want = search_segments(snapshot.segments, v, filters, limit, exact)
        got_ids, want_ids = [u for _s, u in got], [u for _s, u in want]
        at10.append(len(set(got_ids[:10]) & set(want_ids[:10])) / max(1, len(want_ids[:10])))
        atk.append(len(set(got_ids) & set(want_ids)) / max(1, len(want_ids)))
        if len(want) >= 10 and len(got) >= 10:
            tenth = want[9][0]
            eps10.append(sum(s >= tenth - 0.01 for s, _u in got[:10]) / 10)
            gap10.append(tenth - got[9][0])
    return {"recall@10": round(sum(at10) / len(at10), 4), f"recall@{limit}": round(sum(atk) / len(atk), 4),
            "recall@10_within_0.01": round(sum(eps10) / max(1, len(eps10)), 4),
            "tenth_score_gap": round(sum(gap10) / max(1, len(gap10)), 5)}


def worker_probe(ns, n):
    """Run in a new process: load the model as a web worker does, then open
    the index, then search; print start-up and memory as JSON."""
    import django

    django.setup()
    from search.embeddings import get_embedder
    from search.service import SearchService

    embedder = get_embedder()
    embedder.query_cache = None
    embedder.embed_query("warm up")
    with_model = smaps()
    from search.backends import get_search_backend
    from search.evaluation import read_jsonl

    queries = [q["text"] for q in read_jsonl(ROOT / "tests/data/civil_service_beir/queries.jsonl")]
    t0 = time.perf_counter()
    service = SearchService(backend=get_search_backend(), namespace=ns)
    first = latency(service, queries, 1, "hybrid")
    ready_s = time.perf_counter() - t0
    opened = smaps()
    hybrid = latency(service, queries, n, "hybrid")
    after = smaps()
    print(json.dumps({"ready_s": round(ready_s, 3), "first_search_ms": first["p50_ms"], "hybrid": hybrid,
                      "memory_mb": {"model_loaded": with_model, "index_opened": opened, f"after_{n}_searches": after,
                                    "beyond_model": {k: round(after[k] - with_model[k], 1) for k in after}}}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--base", type=int, default=2000, help="distinct chunks embedded by the real model")
    parser.add_argument("--fixtures", default=str(ROOT / "var/bench-search"))
    parser.add_argument("--rebuild", action="store_true", help="build the fixtures again")
    parser.add_argument("--reindex", action="store_true", help="build the fixtures' indexes again from their rows")
    parser.add_argument("--json", default=str(ROOT / "bench/results/search.json"))
    parser.add_argument("--skip-worker", action="store_true", help="no publish-to-searchable through a worker")
    parser.add_argument("--publish-only", action="store_true", help="only publish-to-searchable through a worker")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        fixture_environment(Path(args.fixtures))
        return worker_probe(args.probe, args.queries)

    fixtures = Path(args.fixtures)
    fixture_environment(fixtures)
    import numpy as np
    from django.db import connection

    from search.backends import get_search_backend
    from search.embeddings import get_embedder
    from search.evaluation import read_jsonl
    from search.service import SearchService

    results = {"machine": machine(), "database": connection.vendor, "load_before": os.getloadavg(), "sizes": {}}
    embedder = get_embedder()
    embedder.query_cache = None  # every query embedded by the real model
    results["query_runtime"] = getattr(embedder, "query_runtime", "")
    backend = get_search_backend()
    base_path = fixtures / f"base-vectors-{args.base}.npy"

    # --- indexing throughput with the model -----------------------------------
    base_texts = build_texts(args.base)
    t0 = time.perf_counter()
    if base_path.exists():
        base_vectors = np.load(base_path)
    else:
        base_vectors = embedder.embed_documents([f"{t}. {x}" for t, x in base_texts])
        np.save(base_path, base_vectors)
        embed_s = time.perf_counter() - t0
        results["embedding_chunks_per_s"] = round(args.base / embed_s, 1)
        print(f"embedding with the real model: {results['embedding_chunks_per_s']} chunks/s")

    known = json.loads((fixtures / "fixtures.json").read_text()) if (fixtures / "fixtures.json").exists() else {}
    queries = [q["text"] for q in read_jsonl(ROOT / "tests/data/civil_service_beir/queries.jsonl")]
    for size in [] if args.publish_only else [int(s) for s in args.sizes.split(",")]:
        ns = f"bench-{size}"
        if args.rebuild or ns not in known or backend.count(ns)[1] != size:
            print(f"building {ns} ...", flush=True)
            known[ns] = build_fixture(backend, ns, size, base_vectors, embedder.model_id)
            known[ns]["total_s"] = round(known[ns]["store_rows_s"] + known[ns]["build_index_s"], 1)
            known[ns]["built"] = time.strftime("%Y-%m-%d %H:%M")
            known[ns]["load_during_build"] = os.getloadavg()
            (fixtures / "fixtures.json").write_text(json.dumps(known, indent=2))
        elif args.reindex:
            print(f"building the index of {ns} again ...", flush=True)
            known[ns] = {**known[ns], **build_index(backend, ns), "built": time.strftime("%Y-%m-%d %H:%M"),
                         "load_during_build": os.getloadavg()}
            known[ns]["total_s"] = round(known[ns]["store_rows_s"] + known[ns]["build_index_s"], 1)
            (fixtures / "fixtures.json").write_text(json.dumps(known, indent=2))
        entry = {"indexing": known[ns]}
        print(f"{size:>8} chunks  indexed in {known[ns]['total_s']} s (rows {known[ns]['store_rows_s']} s, "
              f"index {known[ns]['build_index_s']} s, CPU {known[ns].get('build_index_cpu_s')} s; "
              f"stages {known[ns].get('stages_s')})", flush=True)
        service = SearchService(backend=backend, namespace=ns)
        entry["load_before"] = os.getloadavg()
        for mode in ("lexical", "semantic", "hybrid"):
            entry[mode] = latency(service, queries, args.queries, mode)
            print(f"{size:>8} chunks  {mode:<8} p50 {entry[mode]['p50_ms']:6.1f} ms  p95 {entry[mode]['p95_ms']:6.1f} ms"
                  f"  (CPU p50 {entry[mode]['cpu']['p50_ms']:.1f} ms, p95 {entry[mode]['cpu']['p95_ms']:.1f} ms)", flush=True)
        entry["hybrid_topic_filter"] = latency(service, queries, args.queries, "hybrid", topics=["t3"])
        print(f"{size:>8} chunks  hybrid, one topic: p95 {entry['hybrid_topic_filter']['p95_ms']:.1f} ms", flush=True)
        entry["vector_recall"] = vector_recall(backend, ns, embedder, queries)
        print(f"{size:>8} chunks  vector recall against exact: {entry['vector_recall']}", flush=True)
        probe = subprocess.run([sys.executable, __file__, "--probe", ns, "--fixtures", str(fixtures),
                                "--queries", str(args.queries)], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
        if probe.returncode == 0:
            entry["web_worker"] = json.loads(probe.stdout.strip().splitlines()[-1])
            w = entry["web_worker"]
            print(f"{size:>8} chunks  worker ready in {w['ready_s']} s; beyond the model "
                  f"{w['memory_mb']['beyond_model']} MB; its hybrid p95 {w['hybrid']['p95_ms']} ms", flush=True)
        else:
            print(probe.stderr[-2000:])
        if size == min(int(x) for x in args.sizes.split(",")):
            entry["logging"] = logging_overhead(ns, queries, args.queries)
        entry["load_after"] = os.getloadavg()
        results["sizes"][str(size)] = entry

    if not args.skip_worker:
        results["publish_to_searchable_s"] = publish_delay()
        p = results["publish_to_searchable_s"]
        print(f"publish-to-searchable through the worker: p50 {p['p50']} s, p95 {p['p95']} s, max {p['max']} s")
    results["peak_rss_mb"] = peak_rss_mb()
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"wrote {args.json}")


def logging_overhead(namespace, queries, n):
    """p95 of the search API view with analytics logging on and off
    (interleaved, same queries), through the real view and service."""
    from django.conf import settings
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.signed_cookies import SessionStore
    from django.test import RequestFactory

    from search import analytics, service, views

    factory = RequestFactory()
    samples = {"on": [], "off": []}
    base = dict(getattr(settings, "KM_ANALYTICS", {}))
    old_init = service.SearchService.__init__

    def init(self, backend=None, embedder=None, namespace=namespace):
        old_init(self, backend, embedder, namespace)

    service.SearchService.__init__ = init
    try:
        for i in range(n * 2):
            mode = "on" if i % 2 == 0 else "off"
            settings.KM_ANALYTICS = {**base, "ENABLED": mode == "on", "ASYNC": True}
            request = factory.get("/api/search/", {"q": queries[(i // 2) % len(queries)]})
            request.user = AnonymousUser()
            request.session = SessionStore()
            t = time.perf_counter()
            response = views.api_search(request)
            samples[mode].append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.content[:200]
        analytics.flush()
    finally:
        service.SearchService.__init__ = old_init
        settings.KM_ANALYTICS = base
    on, off = percentiles(samples["on"]), percentiles(samples["off"])
    return {"on": on, "off": off, "p95_difference_ms": round(on["p95_ms"] - off["p95_ms"], 2)}


def publish_delay(rounds=20):
    """Start a real worker (embedded filesystem broker, real model), publish
    pages, and time until each is searchable from this process (a reader of
    the index in another process than the one writing it)."""
    from django.http import QueryDict
    from wagtail.rich_text import RichText

    from knowledge.demo import ensure_site
    from knowledge.models import PolicyPage
    from search.service import SearchService, parse_request

    env = os.environ.copy()
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "kmsite", "worker", "--pool=solo", "--loglevel=WARNING"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _home, sections = ensure_site()
        # warm the worker (model load) with a first page
        delays = []
        run = int(time.time())
        for i in range(rounds + 1):
            word = f"zebracrossing{run}x{i}"
            page = PolicyPage(title=f"Bench policy {i}", slug=f"bench-{run}-{i}", summary="s",
                              reference_number=f"B-{run}-{i}",
                              status="in_force", audience="public",
                              body=[("paragraph", RichText(f"<p>Guidance on {word} markings.</p>"))])
            sections["policy"].add_child(instance=page)
            t0 = time.perf_counter()
            page.save_revision().publish()
            q = QueryDict(mutable=True)
            q.update({"q": word, "mode": "lexical"})
            deadline = time.perf_counter() + 120
            while time.perf_counter() < deadline:
                if SearchService().search(parse_request(q)).results:
                    break
                time.sleep(0.05)
            if i:  # the first includes the worker loading the model
                delays.append(time.perf_counter() - t0)
        import numpy as np

        return {"p50": round(float(np.percentile(delays, 50)), 2), "p95": round(float(np.percentile(delays, 95)), 2),
                "max": round(max(delays), 2), "rounds": rounds}
    finally:
        worker.terminate()
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:  # a loaded machine: don't lose the figures over it
            worker.kill()
            worker.wait()


if __name__ == "__main__":
    main()
