"""Run the whole quickstart stack: web server, Celery worker and beat.

With no broker configured the worker uses kombu's filesystem transport in
var/ (a real queue, no server needed). Ctrl-C stops everything.
"""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server and a real Celery worker with beat (development quickstart)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")
        parser.add_argument("--no-worker", action="store_true")

    def handle(self, *args, host, port, no_worker, **options):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "kmsite.settings.dev")}
        bindir = os.path.dirname(sys.executable)
        procs = []
        if not no_worker:
            procs.append(subprocess.Popen(
                [os.path.join(bindir, "celery"), "-A", "kmsite", "worker", "--beat", "--loglevel=INFO",
                 "--pool=solo", f"--schedule={settings.CELERY_BEAT_SCHEDULE_FILENAME}"],
                env=env,
            ))
        procs.append(subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"{host}:{port}", "--noreload"], env=env
        ))
        broker = settings.CELERY_BROKER_URL.split(":", 1)[0]
        self.stdout.write(self.style.SUCCESS(
            f"GovKM at http://{host}:{port}/ (admin at /admin/); worker and beat on the {broker} broker. Ctrl-C stops."
        ))
        self.stdout.write("Demo users, password 'govkm-demo': admin, owner, editor, hr, civil")

        def stop(*_):
            for p in procs:
                if p.poll() is None:
                    p.terminate()
            deadline = time.time() + 10
            for p in procs:
                try:
                    p.wait(max(0.1, deadline - time.time()))
                except subprocess.TimeoutExpired:
                    p.kill()

        signal.signal(signal.SIGTERM, lambda *_: (stop(), sys.exit(0)))
        try:
            while all(p.poll() is None for p in procs):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            stop()
