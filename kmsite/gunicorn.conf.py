"""gunicorn settings for GovKM (``gunicorn -c kmsite/gunicorn.conf.py kmsite.wsgi``)."""

import multiprocessing
import os

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
