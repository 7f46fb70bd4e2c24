"""Handing messages to SMTP: one connection reused for the run, or
``KM_NOTIFY_SMTP_CONNECTIONS`` of them in threads (each with its own SMTP
and database connection), since most of a message's time is spent waiting
for the server's replies and for the "sent" mark.

Each message is marked sent by the thread that sent it, the moment the
server accepted it. When the server cannot be reached, the senders stop
taking messages; the rows still claimed are put back by the caller once
every sender has finished, so a message sent by one thread is never put
back by another.
"""

import queue
import smtplib
import threading

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import connection as db
from django.db.models import F
from django.utils import timezone

from ..models import Delivery, SentMessage

Status = Delivery.Status
DONE = object()
MARK_SENT = (f"INSERT INTO {db.ops.quote_name(SentMessage._meta.db_table)} (claim, user_id, sent_at) "  # noqa: S608
             "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING")


def from_address():
    """The envelope sender, where bounces go: ``KM_NOTIFY_RETURN_PATH`` (a
    mailbox ``manage.py process_bounces`` reads), else the From address."""
    from email.utils import parseaddr

    return getattr(settings, "KM_NOTIFY_RETURN_PATH", "") or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


class Outcome:
    def __init__(self):
        self.sent = self.failed = 0
        self.down = None  # the exception that showed the server unreachable
        self.lock = threading.Lock()


def is_smtp(backend):
    return isinstance(backend, SMTPBackend)


def _mark_sent(claim, uid):
    """One single-row INSERT per message (``SentMessage``), in SQL: the ORM's
    query building was a third of a message's CPU time in
    bench/notifications.py. The batch's deliveries are marked from these
    rows in one statement (``delivery.finish_batch``)."""
    with db.cursor() as cursor:
        cursor.execute(MARK_SENT, [claim, uid, db.ops.adapt_datetimefield_value(timezone.now())])
    return 1


def deliver(claim, uid, address, message, smtp, outcome, record_failure, envelope=None):
    """Send one message (bytes for SMTP, else an EmailMessage) on ``smtp``
    (open) and record the result. Returns False when the server is unreachable."""
    try:
        if isinstance(message, bytes):  # the SMTP backend's own smtplib connection
            smtp.connection.sendmail(envelope or from_address(), [address], message)
        else:
            smtp.send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        mine = Delivery.objects.filter(claim=claim, user_id=uid, status=Status.CLAIMED)
        code = next(iter(exc.recipients.values()), (550, b""))[0]
        if record_failure(address, permanent=code >= 500, error=str(exc)):
            failed = mine.update(status=Status.FAILED, error=str(exc)[:300], sent_at=timezone.now())
            with outcome.lock:
                outcome.failed += failed
        else:
            mine.update(status=Status.PENDING, claim="", attempts=F("attempts") + 1, error=str(exc)[:300])
        return True
    except (smtplib.SMTPException, OSError) as exc:
        with outcome.lock:
            outcome.down = outcome.down or exc
        return False
    sent = _mark_sent(claim, uid)
    with outcome.lock:
        outcome.sent += sent
    return True


class SequentialSender:
    raw = False

    def __init__(self, record_failure):
        self.record_failure, self.smtp, self.envelope = record_failure, None, from_address()

    def start(self):
        self.smtp = get_connection(fail_silently=False)
        self.smtp.open()
        self.raw = is_smtp(self.smtp)

    def submit(self, claim, uid, address, message, outcome):
        if outcome.down is None:
            deliver(claim, uid, address, message, self.smtp, outcome, self.record_failure, self.envelope)

    def drain(self):
        pass

    def close(self):
        _close(self.smtp)


class ThreadedSender:
    raw = False

    def __init__(self, record_failure, count):
        self.record_failure, self.count, self.envelope = record_failure, count, from_address()
        self.queue, self.threads = queue.Queue(maxsize=count * 50), []

    def start(self):
        probe = get_connection(fail_silently=False)
        probe.open()  # fail fast, in the caller, when the server is down
        self.raw = is_smtp(probe)
        self.threads = [threading.Thread(target=self._work, args=(probe if i == 0 else None,), daemon=True)
                        for i in range(self.count)]
        for t in self.threads:
            t.start()

    def _work(self, smtp):
        if db.vendor == "postgresql":  # this thread's connection, as the run's own (delivery.Run.execute)
            with db.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO OFF")
        try:
            while True:
                item = self.queue.get()
                try:
                    if item is DONE:
                        return
                    claim, uid, address, message, outcome = item
                    if outcome.down is not None:
                        continue
                    if smtp is None:
                        smtp = get_connection(fail_silently=False)
                        try:
                            smtp.open()
                        except (smtplib.SMTPException, OSError) as exc:
                            with outcome.lock:
                                outcome.down = outcome.down or exc
                            smtp = None
                            continue
                    if not deliver(claim, uid, address, message, smtp, outcome, self.record_failure, self.envelope):
                        _close(smtp)
                        smtp = None
                finally:
                    self.queue.task_done()
        finally:
            _close(smtp)
            db.close()  # this thread's database connection

    def submit(self, claim, uid, address, message, outcome):
        self.queue.put((claim, uid, address, message, outcome))

    def drain(self):
        self.queue.join()

    def close(self):
        for _ in self.threads:
            self.queue.put(DONE)
        for t in self.threads:
            t.join(60)


def make_sender(record_failure, count):
    return SequentialSender(record_failure) if count <= 1 else ThreadedSender(record_failure, count)


def _close(smtp):
    if smtp is not None:
        try:
            smtp.close()
        except Exception:  # noqa: S110 - closing a broken connection
            pass
