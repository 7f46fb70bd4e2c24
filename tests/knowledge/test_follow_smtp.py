"""Following guidance through a real SMTP server (aiosmtpd on loopback) and,
for the asynchronous cases, a real Celery worker on Redis."""

import pytest

from knowledge.models import Delivery, MailSuppression, SentMessage
from knowledge.subscriptions import follow
from knowledge.subscriptions.delivery import DeliveryDeferred, send_due
from knowledge.tasks import send_follow_emails
from tests import factories as f
from tests.conftest import WorkerProcess, use_broker, wait_for
from tests.smtp import SMTPServer, free_port

from .conftest import publish_change


@pytest.fixture
def smtp(settings):
    server = SMTPServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


def followers(page, n, frequency="daily", prefix="reader"):
    users = [f.user(f"{prefix}{i}") for i in range(n)]
    for u in users:
        follow.follow(u, "page", page.pk, frequency=frequency)
    return users


@pytest.mark.django_db
def test_one_email_through_smtp_with_rfc8058_headers_and_working_unsubscribe(smtp, client,
                                                                             django_capture_on_commit_callbacks):
    page = f.policy("Gifts and hospitality")
    alice = f.user("alice")
    follow.follow(alice, "page", page.pk)
    with django_capture_on_commit_callbacks(execute=True):
        publish_change(page, summary="The gifts threshold is now £25.")
    assert smtp.wait_for(1)
    [message] = smtp.messages
    assert message["To"] == "alice@example.gov" and message["Subject"] == "Changed: Gifts and hospitality"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = str(message["List-Unsubscribe"]).strip().strip("<>")
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "£25" in text and "£25" in html and link in text and link in html
    path = link.split("127.0.0.1:8000", 1)[1]
    assert client.post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200  # no login, no CSRF token
    assert not alice.km_subscriptions.exists()
    assert len(smtp.messages) == 1


@pytest.mark.django_db
def test_smtp_down_defers_then_sends_each_once(smtp, django_capture_on_commit_callbacks):
    page = f.policy("Leave")
    users = followers(page, 3)
    with django_capture_on_commit_callbacks(execute=True):
        publish_change(page, summary="Leave accrues monthly.")
    smtp.stop()
    with pytest.raises(DeliveryDeferred):
        send_due("daily")
    assert set(Delivery.objects.values_list("status", "attempts")) == {("pending", 1)}
    smtp.start()  # the server is back, on the same port
    assert send_due("daily")["sent"] == 3
    assert send_due("daily") == {}
    assert sorted(m["To"] for m in smtp.messages) == sorted(u.email for u in users)


@pytest.mark.django_db
def test_refused_address_is_suspended_and_reported(settings, django_capture_on_commit_callbacks):
    with SMTPServer(refuse=["bounce0@example.gov"]) as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", server.port, 5
        page = f.policy("Leave")
        followers(page, 1, prefix="bounce")
        good = f.user("good")
        follow.follow(good, "page", page.pk, frequency="daily")
        with django_capture_on_commit_callbacks(execute=True):
            publish_change(page, summary="Leave accrues monthly.")
        counts = send_due("daily")
        assert counts == {"sent": 1, "failed": 1}
        assert MailSuppression.objects.get(address="bounce0@example.gov").suspended_at is not None
        with django_capture_on_commit_callbacks(execute=True):
            publish_change(page, summary="Leave accrues weekly.")
        assert send_due("daily") == {"sent": 1, "suppressed": 1}
        assert [m["To"] for m in server.messages] == ["good@example.gov", "good@example.gov"]


# --- a real worker --------------------------------------------------------------
@pytest.fixture
def mail_worker(redis_url, transactional_db, django_db_serialized_rollback, tmp_path):
    """Start (and restart) real workers that send to ``smtp_port``."""
    import uuid

    queue = f"km-follow-{uuid.uuid4().hex[:8]}"
    undo = use_broker(redis_url, queue)
    workers = []
    port = free_port()

    def start(**env):
        worker = WorkerProcess(redis_url, queue, tmp_path / "worker.log", tmp_path)
        worker.env.update({"KM_TEST_REAL_EMAIL": "true", "EMAIL_URL": f"smtp://127.0.0.1:{port}",
                           "KM_NOTIFY_RETRY_SECONDS": "1", **env})
        workers.append(worker.start())
        return worker

    start.port = port
    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()
        undo()


def _publish_with_followers(n):
    page = f.policy("Hybrid working")
    users = followers(page, n)
    publish_change(page, summary="Two office days a week.")  # fanned out by the worker, after commit
    assert wait_for(lambda: Delivery.objects.count() == n)
    return users


@pytest.mark.worker
@pytest.mark.slow
def test_worker_retries_a_digest_while_smtp_is_down(mail_worker):
    worker = mail_worker()
    users = _publish_with_followers(3)
    send_follow_emails.delay("daily")  # nobody listens on the port yet
    assert wait_for(lambda: Delivery.objects.filter(attempts__gte=1).count() == 3), worker.read_log()[-3000:]
    with SMTPServer(port=mail_worker.port) as smtp:
        assert wait_for(lambda: Delivery.objects.filter(status="sent").count() == 3, timeout=60), \
            worker.read_log()[-3000:]
        assert smtp.wait_for(3)
        assert sorted(m["To"] for m in smtp.messages) == sorted(u.email for u in users)


@pytest.mark.worker
@pytest.mark.slow
def test_worker_killed_mid_digest_resends_nothing_and_loses_nothing(mail_worker):
    worker = mail_worker()
    users = _publish_with_followers(8)
    with SMTPServer(port=mail_worker.port, delay_rcpt=0.4) as smtp:
        send_follow_emails.delay("daily")
        # the deliveries of a batch are marked sent when it ends; each message's
        # mark (SentMessage) is written once the server has accepted it
        assert wait_for(lambda: smtp.handler.count >= 3), worker.read_log()[-3000:]
        worker.kill()  # in the middle of the run (one batch: all 8 readers)
        accepted_before = smtp.handler.count
        assert 3 <= accepted_before < 8
        assert not Delivery.objects.filter(status="sent").exists()
        assert SentMessage.objects.count() >= accepted_before - 1  # the last may have been cut before its mark
        again = mail_worker(KM_NOTIFY_CLAIM_SECONDS="1")  # the killed sender's claim is stale after 1 s
        import time

        time.sleep(1.2)
        send_follow_emails.delay("daily")  # the next run (beat, or the retried task)
        assert wait_for(lambda: Delivery.objects.filter(status="sent").count() == 8, timeout=60), \
            again.read_log()[-3000:]
        assert smtp.wait_for(8)
        addressed = [m["To"] for m in smtp.messages]
        assert sorted(set(addressed)) == sorted(u.email for u in users)  # nobody lost
        # Each reader once, except at most the one whose message the server
        # was accepting when the sender died: accepted, but not yet marked, it
        # is sent again, with the same Message-ID, by which mail systems
        # recognise the copy (no sender can close that window).
        twice = {a for a in addressed if addressed.count(a) > 1}
        assert len(addressed) - len(set(addressed)) <= 1 and len(twice) <= 1
        assert SentMessage.objects.count() == 0  # the marks are spent
        for address in twice:
            ids = {m["Message-ID"] for m in smtp.messages if m["To"] == address}
            assert len(ids) == 1, ids
        ids = [m["Message-ID"] for m in smtp.messages]
        assert len(set(ids)) == len(set(addressed))  # one Message-ID per reader


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # the sending threads open their own database connections
def test_several_smtp_connections_send_each_once_and_defer_together(smtp, settings):
    settings.KM_NOTIFY_SMTP_CONNECTIONS = 3
    page = f.policy("Leave")
    users = followers(page, 7)
    publish_change(page, summary="Leave accrues monthly.")  # committed: fanned out in-process (eager)
    assert Delivery.objects.count() == 7
    smtp.stop()
    with pytest.raises(DeliveryDeferred):
        send_due("daily", batch_users=3)
    assert Delivery.objects.filter(status="pending").count() == 7
    smtp.start()
    assert send_due("daily", batch_users=3) == {"sent": 7}
    assert sorted(m["To"] for m in smtp.messages) == sorted(u.email for u in users)
    assert len({m["Message-ID"] for m in smtp.messages}) == 7
    assert len({str(m["List-Unsubscribe"]) for m in smtp.messages}) == 7


@pytest.mark.django_db
def test_a_killed_senders_marks_become_sent_and_the_rest_goes_back(smtp, settings, django_capture_on_commit_callbacks):
    """What a killed sender leaves: rows claimed, and the marks of the
    messages the server accepted. The next run marks those sent and sends
    only the others."""
    import datetime

    from django.utils import timezone

    from knowledge.subscriptions.delivery import release_stale_claims

    page = f.policy("Leave")
    users = followers(page, 3)
    with django_capture_on_commit_callbacks(execute=True):
        publish_change(page, summary="Leave accrues monthly.")
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    Delivery.objects.update(status="claimed", claim="dead", claimed_at=long_ago)
    SentMessage.objects.create(claim="dead", user=users[0], sent_at=long_ago)  # handed over before the kill
    assert release_stale_claims() == 2
    assert Delivery.objects.get(user=users[0]).status == "sent"
    assert not SentMessage.objects.exists()
    assert send_due("daily") == {"sent": 2}
    assert sorted(m["To"] for m in smtp.messages) == sorted(u.email for u in users[1:])
