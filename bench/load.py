"""Load test: concurrent users searching and browsing against the production
web server (``python -m kmsite.server``: Granian, 2 workers x 4 threads), with
a real worker indexing edits at the same time. Loopback only, bounded in
time and requests, stops by itself.

    .venv/bin/python bench/load.py [--users 50] [--seconds 60] [--rate 110]
        [--unique-share 0.25] [--anonymous] [--extra-chunks 10000] [--json bench/results/load.json]

Set-up (in a scratch directory): migrate, load the demo content, add
--extra-chunks synthetic indexed passages (standing in for 10k extra pages of
guidance: vectors derived from real-model embeddings, as in bench/search.py),
start the web server and a Celery worker with beat. ``--server gunicorn``
runs the same test against gunicorn (gthread, as this project used before)
for comparison, where gunicorn is installed.

Alternating pairs on one data set: set it up once, then serve each checkout
in turn from a copy (with BENCH_DATABASE_URL, copy the database per run too):

    .venv/bin/python bench/load.py --prepare /tmp/load-data
    .venv/bin/python bench/load.py --data /tmp/load-data --app-root /tmp/before --json before-1.json
    .venv/bin/python bench/load.py --data /tmp/load-data --json after-1.json

Users are civil servants, each logged in with a session of their own
(--anonymous: visitors without one). Mix: 70% searches (half HTML, half
API), 30% page views. A share of the searches (--unique-share) are phrasings
never asked before, so they miss every cache (query vector and results);
the rest are drawn from the shipped evaluation queries. An editor thread
publishes a page edit every 2 s, which the worker re-indexes.

--rate N paces the users to offer N searches per second in all (each user
at a constant throughput, as Locust's ``constant_throughput``; a user whose
request overran its slot starts the next at once, without bursts to catch
up, so a slow server shows up as a lower achieved rate). A paced generator
achieves at most what it offers, and a little less (users start out of
step, searches are 70 % of requests by chance), so to show the goal of at
least 100 searches/s it offers a tenth more by default. --rate 0 runs the
users flat out, one request after another, to measure capacity.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _chart import timeline_svg  # noqa: E402
from _cpu import CpuSampler, cpu_seconds_by_component, machine_cpu_seconds, wait_settled  # noqa: E402
from _setup import ROOT, demo_with_extra_passages, directory_environment, machine, scratch_environment  # noqa: E402


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--extra-chunks", type=int, default=10_000)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=110.0, help="searches/s offered; 0 = flat out")
    parser.add_argument("--unique-share", type=float, default=0.25, help="share of searches never asked before")
    parser.add_argument("--anonymous", action="store_true", help="visitors without a login")
    parser.add_argument("--workers", type=int, default=2, help="web server worker processes")
    parser.add_argument("--threads", type=int, default=4, help="Python threads per worker")
    parser.add_argument("--server", choices=["granian", "gunicorn"], default="granian",
                        help="granian: python -m kmsite.server (production); gunicorn: for comparison")
    parser.add_argument("--json", default=str(ROOT / "bench/results/load.json"))
    parser.add_argument("--prepare", metavar="DIR", help="only set up the data (index, SQLite file) in DIR, for --data")
    parser.add_argument("--data", metavar="DIR", help="run on a copy of what --prepare set up in DIR (with "
                        "BENCH_DATABASE_URL, the database named there is the caller's copy)")
    parser.add_argument("--app-root", metavar="PATH", help="serve the checkout at PATH (code before a change, "
                        "for alternating pairs); the load generator stays this one")
    args = parser.parse_args()

    os.environ["KM_SEARCH_PER_MINUTE"] = "1000000"  # one client address stands for fifty users
    if args.data:
        tmp = Path(tempfile.mkdtemp(prefix="govkm-bench-load-")) / "data"
        shutil.copytree(args.data, tmp)
        directory_environment(tmp)
    else:
        tmp = Path(args.prepare) if args.prepare else None
        if tmp:
            tmp.mkdir(parents=True, exist_ok=True)
            directory_environment(tmp)
        else:
            tmp = scratch_environment("govkm-bench-load-")
        demo_with_extra_passages(args.extra_chunks)
        if args.prepare:
            print(f"set up {tmp}")
            return 0
    app_root = Path(args.app_root).resolve() if args.app_root else ROOT
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(app_root)}
    return serve_and_load(args, tmp, app_root, port, env)


def serve_and_load(args, tmp, app_root, port, env):
    web_env = {**env, "DJANGO_SETTINGS_MODULE": "kmsite.settings.dev"}
    if args.server == "gunicorn":  # the same application, warmed in each worker, one math thread
        command = ["-m", "gunicorn", "kmsite.server:create_application()", "-b", f"127.0.0.1:{port}",
                   "--workers", str(args.workers), "--threads", str(args.threads), "--access-logfile", "/dev/null"]
        from kmsite.server import ONE_MATH_THREAD

        web_env.update(ONE_MATH_THREAD)
    else:
        command = ["-m", "kmsite.server", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers),
                   "--threads", str(args.threads)]
    web = subprocess.Popen([sys.executable, *command], cwd=app_root, env=web_env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "kmsite", "worker", "--beat", "--pool=solo",
                               "--loglevel=WARNING", f"--schedule={tmp / 'beat'}"], cwd=app_root, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_http(port):
            raise SystemExit("the web server did not start")
        roots = {"web server": web.pid, "celery worker": worker.pid, "load generator": os.getpid()}
        settle = wait_settled(roots)  # both web workers and the Celery worker warm (model, index)
        cpu_before, machine_before = cpu_seconds_by_component(roots), machine_cpu_seconds()
        results = run_load(port, args, roots)
        cpu_after, machine_after = cpu_seconds_by_component(roots), machine_cpu_seconds()
        results["cpu_seconds"] = {k: round(cpu_after[k] - cpu_before[k], 1) for k in cpu_after}
        results["machine_cpu_seconds"] = {k: round(machine_after[k] - machine_before[k], 1) for k in machine_after}
        results["warm_up_seconds"] = settle
    finally:
        for p in (web, worker):
            p.send_signal(signal.SIGTERM)
        for p in (web, worker):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        try:  # any server worker its main process left behind
            os.killpg(web.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    results["machine"] = machine()
    results["database"] = "sqlite" if "sqlite" in os.environ["DATABASE_URL"] else "postgresql"
    results["app_root"] = str(app_root)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    chart = Path(args.json).with_suffix(".svg")
    chart.write_text(timeline_svg(results))
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, indent=2))
    print(f"wrote {args.json} and {chart}")
    return 0 if results["errors"] == 0 else 1


SEARCH_SHARE = 0.7

WARM_SECONDS = 10


def per_second(timeline, clock_start, duration, cpu_by_second=None):
    """Each second of the run by when its requests started: how many, and
    their p50, p95 and slowest latency (ms), with the CPU seconds each
    component used in it (``cpu_s``) where they were sampled. Shows whether
    slow requests are spread out or come in bursts, and what they line up
    with."""
    import numpy as np

    seconds = [[] for _ in range(int(duration) + 1)]
    for t0, elapsed, _kind, _unique in timeline:
        seconds[min(int(t0 - clock_start), len(seconds) - 1)].append(elapsed)
    rows = []
    for second, values in enumerate(seconds):
        a = np.asarray(values) if values else np.zeros(1)
        rows.append({"second": second, "requests": len(values), "p50_ms": round(float(np.percentile(a, 50)), 1),
                     "p95_ms": round(float(np.percentile(a, 95)), 1), "max_ms": round(float(a.max()), 1)})
        if cpu_by_second and second in cpu_by_second:
            rows[-1]["cpu_s"] = cpu_by_second[second]
    return rows


def bench_sessions(n):
    """Session cookies for ``n`` civil servants, created as a login would."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.models import Group
    from django.utils.module_loading import import_string

    from knowledge.roles import CIVIL_SERVANTS, ensure_roles

    ensure_roles()
    group = Group.objects.get(name=CIVIL_SERVANTS)
    store = import_string(settings.SESSION_ENGINE + ".SessionStore")
    cookies = []
    for i in range(n):
        user, _ = get_user_model().objects.get_or_create(username=f"bench-user-{i}", defaults={"email": f"bench{i}@example.gov"})
        user.groups.add(group)
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "kmsite.auth.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    return cookies


def fetch(port, path, headers):
    """GET ``path`` on a new connection and read the whole response; returns
    the status code. A plain socket rather than http.client, whose request
    and header handling cost the load generator, on the same two cores as
    the server, about a sixth more CPU (7.0 against 5.9 s in comparable
    runs); the server sees the same request either way."""
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        received = []
        while chunk := sock.recv(65536):
            received.append(chunk)
    head = b"".join(received)[:12]
    if not head.startswith(b"HTTP/1.") or len(head) < 12:
        raise ConnectionError("no HTTP response")
    return int(head[9:12])


def run_load(port, args, roots=None):
    import numpy as np

    from knowledge.models import KnowledgePage, ProcedurePage
    from search.evaluation import read_jsonl

    queries = [q["text"] for q in read_jsonl(ROOT / "tests/data/civil_service_beir/queries.jsonl")]
    vocabulary = sorted({w.strip("?,.()").lower() for q in queries for w in q.split() if len(w) > 4})
    audiences = ["public"] if args.anonymous else ["public", "internal"]
    page_urls = [p.url for p in KnowledgePage.objects.live().filter(audience__in=audiences)]
    cookies = [None] * args.users if args.anonymous else bench_sessions(args.users)
    # each user's slot: users / requests-per-second (searches are SEARCH_SHARE of requests)
    interval = args.users * SEARCH_SHARE / args.rate if args.rate > 0 else 0.0
    stop_at = time.monotonic() + args.seconds
    lock = threading.Lock()
    # every request: (start on the perf_counter clock, milliseconds, kind, never asked before?)
    timeline = []
    errors = []
    count = [0]

    def search_text(rng, n):
        if rng.random() < args.unique_share:  # a phrasing nobody asked before
            return f"{rng.choice(queries)} {rng.choice(vocabulary)} {n}", True
        return rng.choice(queries), False

    def user(seed):
        rng = random.Random(seed)
        headers = {"Cookie": cookies[seed]} if cookies[seed] else {}
        next_start = time.monotonic() + rng.random() * interval  # users start out of step
        n = 0
        while True:
            if interval:
                delay = next_start - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if time.monotonic() >= stop_at:
                return
            with lock:
                if count[0] >= args.max_requests:
                    return
                count[0] += 1
            n += 1
            roll, unique = rng.random(), False
            if roll < SEARCH_SHARE:  # half on the search page, half through the API
                text, unique = search_text(rng, f"{seed}-{n}")
                kind = "search" if roll < SEARCH_SHARE / 2 else "api"
                path = f"{'/search/' if kind == 'search' else '/api/search/'}?q={quote(text)}"
            else:
                kind, path = "page", rng.choice(page_urls)
            # A connection per request, as a reverse proxy in front of
            # the server opens by default: with kept-alive connections each
            # user would stay on the worker process that accepted it first.
            t0 = time.perf_counter()
            try:
                status = fetch(port, path, headers)
            except Exception as exc:  # a dropped or refused connection is an error
                status = f"{type(exc).__name__}"
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                timeline.append((t0, elapsed, kind, unique))
                if status != 200:
                    errors.append(f"{status} {path[:80]}")
            next_start = max(next_start + interval, time.monotonic())

    edits = [0]
    edit_times = []
    users_done = threading.Event()

    def editor():
        from wagtail.rich_text import RichText

        procedures = list(ProcedurePage.objects.live().filter(audience="public")[:10])
        n = 0
        while not users_done.is_set() and procedures:
            page = procedures[n % len(procedures)]
            page.refresh_from_db()
            page.purpose = RichText(f"<p>Revised during the load test, edit {n}.</p>").source
            page.save_revision().publish()
            edit_times.append(time.perf_counter())
            n += 1
            edits[0] = n
            users_done.wait(2)

    # The generator holds the embedding model and Django from setting up:
    # out of the collector's reach, as in the server, lest a full collection
    # here stop all fifty users at once and add its pause to every request
    # in flight.
    from kmsite.server import settle_heap

    settle_heap()
    threads = [threading.Thread(target=user, args=(i,)) for i in range(args.users)]
    editor_thread = threading.Thread(target=editor)
    started, clock_start = time.monotonic(), time.perf_counter()
    sampler = CpuSampler(roots, clock_start) if roots else None
    if sampler:
        sampler.start()
    for t in threads:
        t.start()
    editor_thread.start()
    for t in threads:
        t.join()
    # The rates are over the users' time: from the start until the last
    # request answered. Timing to the editor's end would add up to two
    # seconds of its last pause.
    duration = time.monotonic() - started
    users_done.set()
    editor_thread.join()
    cpu_by_second = {}
    if sampler:
        sampler.stop.set()
        sampler.join()
        cpu_by_second = sampler.per_second()

    def pct(values):
        if not values:
            return {}
        a = np.asarray(values)
        return {"count": len(values), "p50_ms": round(float(np.percentile(a, 50)), 1),
                "p95_ms": round(float(np.percentile(a, 95)), 1), "p99_ms": round(float(np.percentile(a, 99)), 1)}

    samples = {"search": [], "api": [], "page": []}
    for _t0, elapsed, kind, _unique in timeline:
        samples[kind].append(elapsed)
    searches = samples["search"] + samples["api"]
    total = len(timeline)
    return {
        "users": args.users,
        "logged_in": not args.anonymous,
        "web_server": f"{args.server}, {args.workers} workers x {args.threads} threads",
        "offered_searches_per_s": args.rate or "flat out",
        "unique_share": args.unique_share,
        "seconds": round(duration, 1),
        "requests": total,
        "requests_per_s": round(total / duration, 1),
        "searches_per_s": round(len(searches) / duration, 1),
        "search": pct(searches),
        "search_html": pct(samples["search"]),
        "search_api": pct(samples["api"]),
        "search_never_asked_before": pct([e for _t0, e, _kind, unique in timeline if unique]),
        "page_view": pct(samples["page"]),
        "all": pct([v for vs in samples.values() for v in vs]),
        # the same searches without the first WARM_SECONDS, while every cache
        # is still empty (a fresh database and Redis): reported beside the
        # whole run, never instead of it
        f"search_after_first_{WARM_SECONDS}_s": pct([e for t0, e, kind, _unique in timeline
                                                     if kind != "page" and t0 - clock_start >= WARM_SECONDS]),
        "errors": len(errors),
        "error_examples": errors[:10],
        "edits_published": edits[0],
        "timeline": per_second(timeline, clock_start, duration, cpu_by_second),
        "edits_at_s": [round(t - clock_start, 2) for t in edit_times],
        "extra_chunks": args.extra_chunks,
    }


if __name__ == "__main__":
    sys.exit(main())
