"""The Celery application (cookiecutter-django layout)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmsite.settings.dev")

app = Celery("kmsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
