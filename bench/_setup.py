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
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmsite.settings.dev")
    os.environ["KM_VAR_DIR"] = str(tmp)
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp / 'bench.sqlite3'}"
    os.environ.setdefault("DEBUG", "false")
    sys.path.insert(0, str(ROOT))
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, check=True, env=os.environ.copy())
    import django

    django.setup()
    return tmp


def machine():
    import numpy

    try:
        import torch

        torch_threads = torch.get_num_threads()
    except Exception:  # pragma: no cover
        torch_threads = None
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "torch_threads": torch_threads,
        "platform": platform.platform(),
    }


def peak_rss_mb():
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
