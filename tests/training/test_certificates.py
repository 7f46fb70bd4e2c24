"""Certificates: validity, PDF, expiry → recertification and reminders."""

import datetime
import io

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from pypdf import PdfReader

from training import learning
from training.certificates import issue_certificate, process_expiry, render_pdf
from training.models import ActivityProgress, Certificate, Enrolment, EnrolmentKind

from . import factories as tf

pytestmark = pytest.mark.django_db


def complete_all(user, course):
    learning.enrol_self(user, course["curriculum"])
    learning.open_activity(user, course["read_a"])
    learning.confirm_activity(user, course["read_a"])
    learning.submit_check(user, course["check"], tf.answers(course["check"]))
    learning.open_activity(user, course["read_b"])
    learning.confirm_activity(user, course["read_b"])


def test_validity_period_in_months_clamps_to_month_end(course):
    user = tf.staff("v")
    when = timezone.make_aware(datetime.datetime(2025, 1, 31, 12))
    course["curriculum"].certificate_validity_months = 1
    cert = issue_certificate(user, course["curriculum"], when)
    assert cert.expires_on == datetime.date(2025, 2, 28)
    course["curriculum"].certificate_validity_months = None
    assert issue_certificate(user, course["curriculum"], when).expires_on is None


def test_pdf_certificate_names_learner_and_curriculum(course):
    user = tf.staff("pdf", first_name="Zoë", last_name="Łukasiewicz")
    cert = issue_certificate(user, course["curriculum"])
    data = render_pdf(cert)
    assert data.startswith(b"%PDF")
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Records essentials" in text and "Zo" in text and "ukasiewicz" in text
    assert str(cert.code) in text


def test_expiring_certificate_triggers_recertification_and_reminder(course, django_capture_on_commit_callbacks):
    user = tf.staff("expiring")
    complete_all(user, course)
    cert = Certificate.objects.get(user=user)
    cert.expires_on = timezone.localdate() + datetime.timedelta(days=20)
    cert.save()
    far = issue_certificate(tf.staff("later"), course["curriculum"])
    far.expires_on = timezone.localdate() + datetime.timedelta(days=400)
    far.save()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        created = process_expiry()
    assert [e.user for e in created] == [user]
    recert = created[0]
    assert (recert.kind, recert.due_date, recert.renews) == (EnrolmentKind.RECERTIFICATION, cert.expires_on, cert)
    assert len(mail.outbox) == 1 and "Recertification due" in mail.outbox[0].subject
    assert mail.outbox[0].to == [user.email]
    assert not ActivityProgress.objects.filter(user=user).exists()  # progress reset to redo the modules
    assert process_expiry() == []  # idempotent
    assert Enrolment.objects.filter(kind=EnrolmentKind.RECERTIFICATION).count() == 1


def test_recertification_needs_new_completions_and_issues_a_new_certificate(course):
    user = tf.staff("renew")
    complete_all(user, course)
    cert = Certificate.objects.get(user=user)
    cert.expires_on = timezone.localdate() + datetime.timedelta(days=5)
    cert.save()
    (recert,) = process_expiry()
    recert.refresh_from_db()
    assert recert.completed_at is None  # old completions do not count
    complete_all(user, course)
    recert.refresh_from_db()
    assert recert.completed_at is not None
    assert Certificate.objects.filter(user=user).count() == 2


def test_renewed_certificate_is_not_recertified_again(course):
    user = tf.staff("renewed")
    old = issue_certificate(user, course["curriculum"], timezone.now() - datetime.timedelta(days=400))
    old.expires_on = timezone.localdate() + datetime.timedelta(days=3)
    old.save()
    issue_certificate(user, course["curriculum"])
    assert process_expiry() == []


def test_reminder_command_runs_both_jobs(course):
    user = tf.staff("cmd")
    cert = issue_certificate(user, course["curriculum"])
    cert.expires_on = timezone.localdate()
    cert.save()
    overdue = Enrolment.objects.create(user=tf.staff("late"), module=course["first"],
                                       due_date=timezone.localdate() - datetime.timedelta(days=1))
    out = io.StringIO()
    call_command("training_reminders", stdout=out)
    assert "1 recertification(s) assigned" in out.getvalue()
    overdue.refresh_from_db()
    assert overdue.reminded_at is not None
    assert any(m.subject.startswith("Overdue:") for m in mail.outbox)
    sent = len(mail.outbox)
    call_command("training_reminders", stdout=io.StringIO())
    assert len(mail.outbox) == sent  # reminders at most once a week
