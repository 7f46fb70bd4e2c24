"""Load test: concurrent users searching and browsing against gunicorn, with
a real worker indexing edits at the same time. Loopback only, bounded in
time and requests, stops by itself.

    .venv/bin/python bench/load.py [--users 50] [--seconds 60] [--extra-chunks 10000] [--json bench/results/load.json]

Set-up (in a scratch directory): migrate, load the demo content, add
--extra-chunks synthetic indexed passages (standing in for 10k extra pages of
guidance: vectors derived from real-model embeddings, as in bench/search.py),
start gunicorn (2 workers x 4 threads) and a Celery worker with beat.
Users mix: 70% searches (half HTML, half API), 30% page views. An editor
thread publishes a page edit every 2 s, which the worker re-indexes.
"""

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, machine, scratch_environment  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/")
            if conn.getresponse().status == 200:
                return True
        except OSError:
            time.sleep(0.5)
    return False


def cpu_seconds_by_component(roots):
    """CPU seconds (user + system) used so far by each named group of
    processes: the given root PIDs with all their descendants, plus the
    database and Redis servers found by name. Linux /proc only."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        procs[int(entry.name)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    totals = {name: 0.0 for name in roots}
    totals.update({"postgresql": 0.0, "redis": 0.0})
    for pid, (comm, _ppid, cpu) in procs.items():
        owner, cursor, seen = None, pid, set()
        while cursor and cursor not in seen:
            seen.add(cursor)
            owner = next((name for name, root in roots.items() if root == cursor), None)
            if owner:
                break
            cursor = procs.get(cursor, (None, 0, 0))[1]
        if owner:
            totals[owner] += cpu
        elif comm.startswith("postgres"):
            totals["postgresql"] += cpu
        elif comm.startswith("redis-server"):
            totals["redis"] += cpu
    return totals


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--extra-chunks", type=int, default=10_000)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--json", default=str(ROOT / "bench/results/load.json"))
    args = parser.parse_args()

    os.environ["KM_SEARCH_API_PER_MINUTE"] = "1000000"  # one client address stands for fifty users
    tmp = scratch_environment("govkm-bench-load-")
    subprocess.run([sys.executable, "manage.py", "load_demo", "--noinput"], cwd=ROOT, check=True,
                   env=os.environ.copy(), stdout=subprocess.DEVNULL)
    import importlib.util

    import numpy as np
    from django.db import connection

    from search.backends import get_search_backend
    from search.backends.base import SITE_NAMESPACE
    from search.embeddings import get_embedder

    spec = importlib.util.spec_from_file_location("bench_search", ROOT / "bench" / "search.py")
    bench_search = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_search)
    build_texts, records_for = bench_search.build_texts, bench_search.records_for

    embedder = get_embedder()
    base_texts = build_texts(1000, seed=11)
    base = embedder.embed_documents([f"{t}. {x}" for t, x in base_texts])
    rng = np.random.default_rng(5)
    texts = build_texts(args.extra_chunks, seed=12)
    vectors = base[rng.integers(0, len(base), args.extra_chunks)] + rng.normal(0, 0.02, (args.extra_chunks, base.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    backend = get_search_backend()
    for start in range(0, args.extra_chunks, 5000):
        pages = records_for(texts[start:start + 5000], vectors[start:start + 5000], 10_000_000 + start, embedder.model_id)
        for chunks in pages.values():  # the demo users must be able to see them: public
            for c in chunks:
                c.metadata["access"] = ["public", "superuser"]
        backend.index_many(SITE_NAMESPACE, pages)
    connection.close()

    port = free_port()
    env = os.environ.copy()
    web = subprocess.Popen([sys.executable, "-m", "gunicorn", "kmsite.wsgi:application", "-c", "kmsite/gunicorn.conf.py",
                            "-b", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4", "--access-logfile", "/dev/null"],
                           cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "kmsite.settings.dev"},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "kmsite", "worker", "--beat", "--pool=solo",
                               "--loglevel=WARNING", f"--schedule={tmp / 'beat'}"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_http(port):
            raise SystemExit("gunicorn did not start")
        time.sleep(5)  # post_worker_init warm-up (model and index) in both workers
        roots = {"gunicorn": web.pid, "celery worker": worker.pid, "load generator": os.getpid()}
        cpu_before = cpu_seconds_by_component(roots)
        results = run_load(port, args)
        cpu_after = cpu_seconds_by_component(roots)
        results["cpu_seconds"] = {k: round(cpu_after[k] - cpu_before[k], 1) for k in cpu_after}
    finally:
        for p in (web, worker):
            p.send_signal(signal.SIGTERM)
        for p in (web, worker):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
    results["machine"] = machine()
    results["database"] = "sqlite" if "sqlite" in os.environ["DATABASE_URL"] else "postgresql"
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, indent=2))
    print(f"wrote {args.json}")
    return 0 if results["errors"] == 0 else 1


def run_load(port, args):
    import numpy as np

    from knowledge.models import KnowledgePage, ProcedurePage
    from search.evaluation import read_jsonl

    queries = [q["text"] for q in read_jsonl(ROOT / "tests/data/civil_service_beir/queries.jsonl")]
    page_urls = [p.url for p in KnowledgePage.objects.live().filter(audience="public")]
    stop_at = time.monotonic() + args.seconds
    lock = threading.Lock()
    samples = {"search": [], "api": [], "page": []}
    errors = []
    count = [0]

    def user(seed):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < stop_at:
            with lock:
                if count[0] >= args.max_requests:
                    return
                count[0] += 1
            roll = rng.random()
            if roll < 0.35:
                kind, path = "search", f"/search/?q={quote(rng.choice(queries))}"
            elif roll < 0.7:
                kind, path = "api", f"/api/search/?q={quote(rng.choice(queries))}"
            else:
                kind, path = "page", rng.choice(page_urls)
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                status = response.status
            except Exception as exc:  # a dropped connection is an error, then reconnect
                status = f"{type(exc).__name__}"
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                samples[kind].append(elapsed)
                if status != 200:
                    errors.append(f"{status} {path[:80]}")

    edits = [0]

    def editor():
        from wagtail.rich_text import RichText

        procedures = list(ProcedurePage.objects.live().filter(audience="public")[:10])
        n = 0
        while time.monotonic() < stop_at and procedures:
            page = procedures[n % len(procedures)]
            page.refresh_from_db()
            page.purpose = RichText(f"<p>Revised during the load test, edit {n}.</p>").source
            page.save_revision().publish()
            n += 1
            edits[0] = n
            time.sleep(2)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(args.users)]
    editor_thread = threading.Thread(target=editor)
    started = time.monotonic()
    for t in threads:
        t.start()
    editor_thread.start()
    for t in threads:
        t.join()
    editor_thread.join()
    duration = time.monotonic() - started

    def pct(values):
        if not values:
            return {}
        a = np.asarray(values)
        return {"count": len(values), "p50_ms": round(float(np.percentile(a, 50)), 1),
                "p95_ms": round(float(np.percentile(a, 95)), 1), "p99_ms": round(float(np.percentile(a, 99)), 1)}

    searches = samples["search"] + samples["api"]
    total = sum(len(v) for v in samples.values())
    return {
        "users": args.users,
        "seconds": round(duration, 1),
        "requests": total,
        "requests_per_s": round(total / duration, 1),
        "searches_per_s": round(len(searches) / duration, 1),
        "search": pct(searches),
        "search_html": pct(samples["search"]),
        "search_api": pct(samples["api"]),
        "page_view": pct(samples["page"]),
        "all": pct([v for vs in samples.values() for v in vs]),
        "errors": len(errors),
        "error_examples": errors[:10],
        "edits_published": edits[0],
        "extra_chunks": args.extra_chunks,
    }


if __name__ == "__main__":
    sys.exit(main())
