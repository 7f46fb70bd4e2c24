"""The Celery application (cookiecutter-django layout)."""

import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmsite.settings.dev")

app = Celery("kmsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_init.connect
def _warm_up_worker_process(**kwargs):
    """Load the embedding model where tasks will run, before the first one.
    Celery sends this in each prefork child as it starts (never the parent,
    so torch is not loaded before a fork) and, with ``--pool=solo`` as
    ``make run`` uses, in the worker's own process."""
    from search.warmup import warm_up_indexer

    warm_up_indexer()
