"""Notification benchmark: a daily digest for N subscribers and C changes,
built and handed to a local SMTP server.

    .venv/bin/python bench/notifications.py [--subscribers 100000] [--changes 20]
        [--smtp-server aiosmtpd|smtp-sink] [--profile] [--json bench/results/notifications.json]

Set-up (not timed): a scratch database (SQLite by default,
BENCH_DATABASE_URL for PostgreSQL), N users in bulk, each following one
topic daily; C public policies in that topic, each then republished as a
material change through Wagtail (so each change is a real
``GuidanceChange``). Timed:

* fan-out: one delivery row per change and follower (N x C rows), as the
  worker does after each publication;
* digest: ``send_due("daily")``, the task beat runs each morning: claim,
  check each reader's right to see each page from the database, build one
  e-mail per reader (plain text and HTML, a signed unsubscribe link), hand
  it to the SMTP server on loopback in its own process, counting what it
  accepts (aiosmtpd, the tests' server, in Python; or Postfix's smtp-sink,
  in C, as a production MTA would receive it) and mark each sent.

CPU is reported per process: this one, the SMTP server's, and the
PostgreSQL backends' (read from /proc, so the database must be local).

The resident memory of the process is sampled after every batch of
readers: flat means the run does not hold the whole population.
Target: 100,000 readers and 20 changes in 60 s or less.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, machine, peak_rss_mb, scratch_environment  # noqa: E402


def rss_mb():
    with open("/proc/self/statm") as f:
        return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def fresh_postgres(url):
    """An empty database each run: BENCH_DATABASE_URL is dropped and created again."""
    if not url.startswith("postgres"):
        return
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(url.replace(parts.path, "/postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class AiosmtpdServer:
    """aiosmtpd (tests/smtp.py) in its own process, counting what it accepts."""

    name = "aiosmtpd"

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.smtp", "--count-only"], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port, self.pid = int(self.proc.stdout.readline()), self.proc.pid

    def accepted(self):
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(10)


class SmtpSinkServer:
    """Postfix's smtp-sink (C; apt-get install postfix): a production MTA's
    SMTP engine that discards what it accepts, counting messages (-c)."""

    name = "smtp-sink"
    BINARY = "/usr/sbin/smtp-sink"

    def __init__(self):
        import socket
        import tempfile

        if not os.path.exists(self.BINARY):
            sys.exit(f"{self.BINARY} is not installed (apt-get install postfix)")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.out = tempfile.NamedTemporaryFile(prefix="smtp-sink-", suffix=".out", delete=False)  # noqa: SIM115
        user = ["-u", "postfix"] if os.geteuid() == 0 else []
        self.proc = subprocess.Popen([self.BINARY, "-c", *user, f"127.0.0.1:{self.port}", "256"],
                                     stdout=self.out, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        time.sleep(0.5)

    def accepted(self):
        import re

        self.out.flush()
        found = re.findall(rb"mesg=(\d+)", Path(self.out.name).read_bytes()[-200:])
        return int(found[-1]) if found else 0

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        os.unlink(self.out.name)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class DatabaseCPU:
    """CPU used by the PostgreSQL backends serving this database (same
    machine: /proc of each backend). Sampled after every batch, so the
    backends of sending threads, which end with their threads, are counted
    up to their last sample; 0 on SQLite, which runs in-process."""

    def __init__(self, connection):
        self.connection, self.first, self.last = connection, {}, {}
        self.sample(baseline=True)

    def _backends(self):
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            return [row[0] for row in cursor.fetchall()]

    def sample(self, baseline=False):
        if self.connection.vendor != "postgresql":
            return
        for pid in self._backends():
            try:
                cpu = cpu_seconds(pid)
            except OSError:  # a backend that just ended
                continue
            self.first.setdefault(pid, cpu if baseline else 0.0)
            self.last[pid] = cpu

    def seconds(self):
        self.sample()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def populate(subscribers, changes, log):
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from knowledge.models import Subscription
    from tests import factories as f

    started = time.perf_counter()
    topic = f.topic("bench-topic", "Bench topic")
    pages = [f.policy(f"Bench policy {i}", topics=[topic]) for i in range(changes)]
    User = get_user_model()
    batch = 5000
    for start in range(0, subscribers, batch):
        with transaction.atomic():
            users = User.objects.bulk_create([
                User(username=f"bench{i}", email=f"bench{i}@example.gov", password="!")  # noqa: S106 - unusable
                for i in range(start, min(subscribers, start + batch))])
            Subscription.objects.bulk_create([
                Subscription(user_id=u.pk, kind="topic", topic=topic, frequency="daily",
                             target_key=Subscription.make_key("topic", topic.pk)) for u in users])
    log(f"set-up: {subscribers} readers, {changes} pages in {time.perf_counter() - started:.1f} s")
    return pages


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--smtp-server", choices=["aiosmtpd", "smtp-sink"], default="aiosmtpd",
                        help="aiosmtpd (Python, the tests' server) or Postfix's smtp-sink (C)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the digest (main thread: use KM_NOTIFY_SMTP_CONNECTIONS=1) and print the top")
    parser.add_argument("--json", default=str(ROOT / "bench/results/notifications.json"))  # the quoted run: reference-notifications.json
    args = parser.parse_args()
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    fresh_postgres(os.environ.get("BENCH_DATABASE_URL", ""))
    scratch_environment("govkm-bench-notify-")
    from django.conf import settings
    from django.db import connection
    from django.db.models.signals import post_save

    from knowledge.models import Delivery, GuidanceChange
    from knowledge.subscriptions import delivery as sending
    from knowledge.subscriptions.changes import fan_out
    from tests.knowledge.conftest import publish_change

    log = print
    smtp = SmtpSinkServer() if args.smtp_server == "smtp-sink" else AiosmtpdServer()
    port = smtp.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 30
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    try:
        pages = populate(args.subscribers, args.changes, log)
        # fan-out is timed on its own below, not by the signal's after-commit task
        settings.CELERY_TASK_ALWAYS_EAGER = False
        from kmsite.celery import app

        app.conf.task_always_eager = False
        app.conf.broker_url = "memory://"
        for page in pages:
            publish_change(page, summary=f"{page.title}: the limit changed from £50 to £25.")
        change_ids = list(GuidanceChange.objects.filter(kind="material").values_list("pk", flat=True))
        assert len(change_ids) == args.changes, change_ids
        post_save.receivers  # noqa: B018 - nothing listens to Delivery saves
        db_cpu, started = DatabaseCPU(connection), time.perf_counter()
        for pk in change_ids:
            fan_out(pk)
        fan_out_s = time.perf_counter() - started
        fan_out_db_cpu_s = db_cpu.seconds()
        rows = Delivery.objects.count()
        log(f"fan-out: {rows} delivery rows in {fan_out_s:.1f} s (database CPU {fan_out_db_cpu_s:.1f} s)")

        samples = []
        original = sending.Run._send_batch

        def sampled(self, *a, **kw):
            result = original(self, *a, **kw)
            samples.append(rss_mb())
            db_cpu.sample()
            return result

        sending.Run._send_batch = sampled
        before = smtp.accepted()
        server_cpu0 = cpu_seconds(smtp.pid)
        cpu0, db_cpu = time.process_time(), DatabaseCPU(connection)
        run = sending.Run("daily", batch_users=args.batch, in_app=True)
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        counts = run.execute()
        digest_s = time.perf_counter() - started
        cpu_s = time.process_time() - cpu0
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
        db_cpu_s = db_cpu.seconds()
        handed = smtp.accepted() - before
        server_cpu_s = cpu_seconds(smtp.pid) - server_cpu0
        log(f"digest: {counts} in {digest_s:.1f} s ({digest_s / max(1, handed) * 1000:.2f} ms per e-mail, "
            f"process CPU {cpu_s:.1f} s); {smtp.name} accepted {handed} (its CPU {server_cpu_s:.1f} s); "
            f"{settings.KM_NOTIFY_SMTP_CONNECTIONS} SMTP connections; database CPU {db_cpu_s:.1f} s")
        log(f"memory: {samples[0] if samples else 0} MB after the first batch, {max(samples or [0])} MB at most, "
            f"{samples[-1] if samples else 0} MB at the end ({len(samples)} batches)")
        result = {
            "benchmark": "notifications-daily-digest", "database": connection.vendor,
            "subscribers": args.subscribers, "changes": args.changes, "delivery_rows": rows,
            "fan_out_s": round(fan_out_s, 2), "fan_out_db_cpu_s": round(fan_out_db_cpu_s, 2),
            "digest_db_cpu_s": round(db_cpu_s, 2), "digest_s": round(digest_s, 2), "digest_cpu_s": round(cpu_s, 2),
            "smtp_server": smtp.name, "smtp_server_cpu_s": round(server_cpu_s, 2), "smtp_connections": settings.KM_NOTIFY_SMTP_CONNECTIONS,
            "emails_accepted": handed, "ms_per_email": round(digest_s / max(1, handed) * 1000, 3),
            "counts": counts, "target_s": 60, "met": digest_s <= 60 and handed == args.subscribers,
            "rss_mb_first_batch": samples[0] if samples else None, "rss_mb_max": max(samples or [0]),
            "rss_mb_last": samples[-1] if samples else None, "peak_rss_mb": peak_rss_mb(),
            "load_average": os.getloadavg(), "machine": machine(),
        }
        print(json.dumps(result, indent=2, default=str))
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"written {args.json}")
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()
