"""gunicorn settings for GovKM (``gunicorn -c kmsite/gunicorn.conf.py kmsite.wsgi``)."""

import multiprocessing
import os

# One CPU thread per request for numpy (OpenBLAS) and torch (OpenMP): the
# web process gets its parallelism from concurrent requests, and pools of
# spinning math threads in every worker fight each other for the cores.
# Set before the workers import numpy or torch; an explicit value wins.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
timeout = 60
graceful_timeout = 30
max_requests = 5000
max_requests_jitter = 500


def post_worker_init(worker):
    """Load the embedding model and the search index before taking traffic,
    so the first visitors to a new worker do not wait for them."""
    from search.warmup import warm_up

    warm_up()
