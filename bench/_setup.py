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
