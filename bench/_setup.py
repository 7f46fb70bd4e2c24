"""Shared set-up for benchmarks: a scratch database and var dir, migrated."""

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def scratch_environment(prefix):
    """Point Django at a fresh SQLite file (or BENCH_DATABASE_URL) and migrate it."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    directory_environment(tmp)
    return tmp


def directory_environment(directory):
    """Point Django at ``directory`` (its var dir: a SQLite file there, or
    BENCH_DATABASE_URL, and the search index), migrate and set up."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmsite.settings.dev")
    os.environ["KM_VAR_DIR"] = str(directory)
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
    os.environ.setdefault("DEBUG", "false")
    sys.path.insert(0, str(ROOT))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=os.environ.copy())
    import django

    django.setup()


def demo_with_extra_passages(extra_chunks):
    """Load the demo content and index ``extra_chunks`` synthetic passages
    (standing in for pages of guidance: vectors derived from real-model
    embeddings, as in bench/search.py), public so every user may see them."""
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
    texts = build_texts(extra_chunks, seed=12)
    vectors = base[rng.integers(0, len(base), extra_chunks)] + rng.normal(0, 0.02, (extra_chunks, base.shape[1])).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    backend = get_search_backend()
    for start in range(0, extra_chunks, 5000):
        pages = records_for(texts[start:start + 5000], vectors[start:start + 5000], 10_000_000 + start, embedder.model_id)
        for chunks in pages.values():  # the demo users must be able to see them: public
            for c in chunks:
                c.metadata["access"] = ["public", "superuser"]
        backend.index_many(SITE_NAMESPACE, pages)
    connection.close()


def machine():
    import numpy

    try:
        import torch

        torch_threads = torch.get_num_threads()
    except Exception:  # pragma: no cover
        torch_threads = None
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "reference_loop_ms": reference_loop_ms(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch_threads": torch_threads,
        "platform": platform.platform(),
    }


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover - not Linux
        pass
    return platform.processor() or platform.machine()


def reference_loop_ms(runs=5):
    """Milliseconds one core takes for a fixed piece of pure-Python work,
    the best of ``runs``. The machines these benchmarks run on are virtual
    and their speed moves from one session to the next by more than most
    changes we measure; recorded beside every result, it says how fast the
    machine was when the figures were taken (lower is faster). Call it with
    the machine otherwise quiet."""
    import time

    def work():
        total = 0
        for i in range(500_000):
            total += i * i % 7
        return total

    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def peak_rss_mb():
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
