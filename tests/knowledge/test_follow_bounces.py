"""Bounces that arrive after sending (RFC 3464 delivery status notifications),
read from a real Maildir by ``manage.py process_bounces``. The bounced
message is a real one: sent through the real SMTP server (aiosmtpd on
loopback) and returned inside a report laid out as Postfix writes them."""

import mailbox
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from knowledge.models import MailSuppression
from knowledge.subscriptions import follow
from knowledge.subscriptions.delivery import send_due
from tests import factories as f

from .conftest import publish_change
from .test_follow_smtp import smtp  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

POSTFIX_DSN = """\
Return-Path: <>
Received: by relay.example.gov (Postfix) id 4Xy2Kd1Zq5z9sWN; Tue,  1 Dec 2026 07:02:11 +0000 (UTC)
Date: Tue,  1 Dec 2026 07:02:11 +0000 (UTC)
From: MAILER-DAEMON@relay.example.gov (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: govkm@example.gov
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4Xy2Kd1Zq5z9sWN.1764572531/relay.example.gov"
Message-Id: <20261201070211.4Xy2Kd1Zq5z9sWN@relay.example.gov>

This is a MIME-encapsulated message.

--4Xy2Kd1Zq5z9sWN.1764572531/relay.example.gov
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host relay.example.gov.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{address}>: host mx.example.gov[192.0.2.10] said: {code} {status} {text}
    (in reply to RCPT TO command)

--4Xy2Kd1Zq5z9sWN.1764572531/relay.example.gov
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.gov
X-Postfix-Queue-ID: 4Xy2Kd1Zq5z9sWN
X-Postfix-Sender: rfc822; govkm@example.gov
Arrival-Date: Tue,  1 Dec 2026 07:02:10 +0000 (UTC)

Final-Recipient: rfc822; {address}
Original-Recipient: rfc822;{address}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.gov
Diagnostic-Code: smtp; {code} {status} {text}

--4Xy2Kd1Zq5z9sWN.1764572531/relay.example.gov
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{headers}
--4Xy2Kd1Zq5z9sWN.1764572531/relay.example.gov--
"""


def dsn(address, headers, action="failed", status="5.1.1", code=550, text="User unknown"):
    return POSTFIX_DSN.format(address=address, headers=headers, action=action, status=status, code=code,
                              text=text).replace("\n", "\r\n").encode()


@pytest.fixture
def sent_headers(smtp, django_capture_on_commit_callbacks):  # noqa: F811 - the imported fixture
    """A real notification to bob@example.gov, through SMTP; its header block."""
    page = f.policy("Travel")
    bob = f.user("bob")
    follow.follow(bob, "page", page.pk, frequency="daily")
    with django_capture_on_commit_callbacks(execute=True):
        publish_change(page, summary="Rail fares are now refunded in 5 days.")
    assert send_due("daily") == {"sent": 1}
    [message] = smtp.messages
    del message["X-Envelope-To"]
    return "".join(f"{k}: {v}\n" for k, v in message.items()), page, bob


def maildir_with(tmp_path, *messages):
    box = mailbox.Maildir(tmp_path / "bounces", create=True)
    keys = [box.add(m) for m in messages]
    return box, keys


def run(maildir):
    out = StringIO()
    call_command("process_bounces", maildir=str(maildir), stdout=out)
    return out.getvalue()


def test_a_permanent_bounce_suspends_the_address_and_the_next_digest_skips_it(
        sent_headers, smtp, tmp_path, django_capture_on_commit_callbacks):  # noqa: F811
    headers, page, bob = sent_headers
    box, _ = maildir_with(tmp_path, dsn("bob@example.gov", headers))
    output = run(box._path)
    assert "suspended bob@example.gov" in output
    row = MailSuppression.objects.get(address="bob@example.gov")
    assert row.suspended_at is not None and "5.1.1" in row.last_error
    assert len(box) == 0  # applied, so removed
    with django_capture_on_commit_callbacks(execute=True):
        publish_change(page, summary="Rail fares are now refunded in 3 days.")
    assert send_due("daily") == {"suppressed": 1}
    assert len(smtp.messages) == 1
    run(box._path)  # nothing new: nothing changes
    assert MailSuppression.objects.get(address="bob@example.gov").failures == 1


def test_transient_failures_count_and_suspend_only_when_repeated(sent_headers, tmp_path, settings):
    settings.KM_NOTIFY_MAX_FAILURES = 2
    headers, _, _ = sent_headers
    delayed = dsn("bob@example.gov", headers, action="delayed", status="4.4.1", code=451, text="Try later")
    soft = dsn("bob@example.gov", headers, status="4.2.2", code=452, text="Mailbox full")
    box, _ = maildir_with(tmp_path, delayed, soft)
    run(box._path)
    row = MailSuppression.objects.get(address="bob@example.gov")
    assert row.failures == 1 and row.suspended_at is None  # the delay counted nothing
    assert len(box) == 1  # the delay report is kept (seen) for a person to read
    [(key, kept)] = box.items()
    assert "S" in kept.get_flags()
    box.add(soft)
    run(box._path)
    assert MailSuppression.objects.get(address="bob@example.gov").suspended_at is not None


def test_forged_or_unrelated_reports_suspend_nobody(sent_headers, tmp_path):
    headers, _, _ = sent_headers
    foreign = headers.replace("List-Id:", "X-Old-List-Id:")
    stranger = dsn("nobody@elsewhere.example", headers)
    reply = b"From: bob@example.gov\r\nTo: govkm@example.gov\r\nSubject: Out of office\r\n\r\nBack Monday.\r\n"
    box, _ = maildir_with(tmp_path, dsn("bob@example.gov", foreign), stranger, reply, b"\x00\xff not mail")
    output = run(box._path)
    assert "not about a message of ours" in output and "not a delivery report" in output
    assert "nobody on GovKM has this address" in output
    assert not MailSuppression.objects.filter(suspended_at__isnull=False).exists()
    assert len(box) == 3  # the one that named a stranger was ours, and is done; the rest are kept


def test_a_bounce_on_standard_input_and_bad_arguments(sent_headers, monkeypatch, tmp_path):
    import io
    import sys

    headers, _, _ = sent_headers
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(dsn("bob@example.gov", headers))))
    out = StringIO()
    call_command("process_bounces", "-", stdout=out)
    assert MailSuppression.objects.get(address="bob@example.gov").suspended_at is not None
    with pytest.raises(CommandError, match="Give --maildir"):
        call_command("process_bounces")
    with pytest.raises(CommandError, match="No Maildir"):
        call_command("process_bounces", maildir=str(tmp_path / "missing"))
