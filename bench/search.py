"""Search benchmark: indexing throughput, query latency at 10k and 100k
chunks per mode, publish-to-searchable delay through a real worker, memory.

    .venv/bin/python bench/search.py [--sizes 10000,100000] [--queries 300] [--json bench/results/search.json]

Corpus: chunks built from the shipped civil-service collection's sentences.
The real model embeds a base of distinct chunks (that is the "with
embedding" throughput); larger corpora reuse those vectors with small
random perturbations (re-normalised), so vector search does real work
without spending an hour embedding. Queries are the collection's questions,
embedded by the real model on every call (included in latency; through ONNX
Runtime, as the web processes do, unless KM_QUERY_RUNTIME=torch); the result
and query-vector caches are off, so every search does the full work.
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
from _setup import ROOT, machine, peak_rss_mb, scratch_environment  # noqa: E402


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--base", type=int, default=2000, help="distinct chunks embedded by the real model")
    parser.add_argument("--json", default=str(ROOT / "bench/results/search.json"))
    parser.add_argument("--skip-worker", action="store_true")
    args = parser.parse_args()

    # Measure the work, not the caches: the queries repeat (54 distinct), so
    # the per-process result cache and query-vector cache would answer most
    # of them (bench/load.py measures the caches under a realistic mix).
    os.environ["KM_SEARCH_RESULT_CACHE_SIZE"] = "0"
    tmp = scratch_environment("govkm-bench-search-")
    import numpy as np
    from django.db import connection

    from search.backends import get_search_backend
    from search.embeddings import get_embedder
    from search.evaluation import read_jsonl
    from search.service import SearchRequest, SearchService

    results = {"machine": machine(), "database": connection.vendor, "sizes": {}}
    embedder = get_embedder()
    embedder.query_cache = None  # every query embedded by the real model
    results["query_runtime"] = getattr(embedder, "query_runtime", "")
    backend = get_search_backend()

    # --- indexing throughput -------------------------------------------------
    base_texts = build_texts(args.base)
    t0 = time.perf_counter()
    base_vectors = embedder.embed_documents([f"{t}. {x}" for t, x in base_texts])
    embed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    backend.index_many("bench-embed", records_for(base_texts, base_vectors, 1, embedder.model_id))
    store_s = time.perf_counter() - t0
    results["indexing"] = {
        "chunks": args.base,
        "with_embedding_chunks_per_s": round(args.base / (embed_s + store_s), 1),
        "embedding_only_chunks_per_s": round(args.base / embed_s, 1),
    }
    backend.drop_namespace("bench-embed")
    print(f"indexing with embedding: {results['indexing']['with_embedding_chunks_per_s']} chunks/s "
          f"(model alone {results['indexing']['embedding_only_chunks_per_s']}/s)")

    queries = [q["text"] for q in read_jsonl(ROOT / "tests/data/civil_service_beir/queries.jsonl")]
    rng = np.random.default_rng(3)
    for size in [int(s) for s in args.sizes.split(",")]:
        ns = f"bench-{size}"
        texts = build_texts(size, seed=size)
        picks = rng.integers(0, args.base, size)
        vectors = base_vectors[picks] + rng.normal(0, 0.02, (size, base_vectors.shape[1])).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        t0 = time.perf_counter()
        batch = 5000
        for start in range(0, size, batch):
            backend.index_many(ns, records_for(texts[start:start + batch], vectors[start:start + batch], start + 1, embedder.model_id))
        store_s = time.perf_counter() - t0
        service = SearchService(backend=backend, namespace=ns)
        t0 = time.perf_counter()
        service.search(SearchRequest(q="warm up", mode="lexical"), access=["public"])
        load_s = time.perf_counter() - t0
        entry = {"store_without_embedding_chunks_per_s": round(size / store_s, 1), "first_load_s": round(load_s, 2)}
        for mode in ("lexical", "semantic", "hybrid"):
            samples = []
            for i in range(args.queries):
                q = queries[i % len(queries)]
                access = [["public"], ["public", "auth"], ["public", "auth", "group:7"]][i % 3]
                t = time.perf_counter()
                service.search(SearchRequest(q=q, mode=mode), access=access)
                samples.append((time.perf_counter() - t) * 1000)
            entry[mode] = percentiles(samples)
            print(f"{size:>7} chunks  {mode:<8} p50 {entry[mode]['p50_ms']:6.1f} ms  p95 {entry[mode]['p95_ms']:6.1f} ms")
        if size == min(int(x) for x in args.sizes.split(",")):
            entry["logging"] = logging_overhead(ns, queries, args.queries)
            print(f"{size:>7} chunks  API p95 with query logging {entry['logging']['on']['p95_ms']} ms, "
                  f"without {entry['logging']['off']['p95_ms']} ms (difference {entry['logging']['p95_difference_ms']} ms)")
        entry["peak_rss_mb"] = peak_rss_mb()
        results["sizes"][str(size)] = entry
        print(f"{size:>7} chunks  stored at {entry['store_without_embedding_chunks_per_s']} chunks/s, "
              f"loaded in {entry['first_load_s']} s, peak RSS {entry['peak_rss_mb']} MB")
        backend.drop_namespace(ns)

    if not args.skip_worker:
        results["publish_to_searchable_s"] = publish_delay(tmp)
        print(f"publish-to-searchable through the worker: p50 {results['publish_to_searchable_s']['p50']} s, "
              f"max {results['publish_to_searchable_s']['max']} s")
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


def publish_delay(tmp, rounds=5):
    """Start a real worker (embedded filesystem broker, real model), publish
    pages, and time until each is searchable from this process."""
    import os

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
        for i in range(rounds + 1):
            word = f"zebracrossing{i}"
            page = PolicyPage(title=f"Bench policy {i}", slug=f"bench-{i}", summary="s", reference_number=f"B-{i}",
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
        return {"p50": round(sorted(delays)[len(delays) // 2], 2), "max": round(max(delays), 2), "rounds": rounds}
    finally:
        worker.terminate()
        worker.wait(20)


if __name__ == "__main__":
    main()
