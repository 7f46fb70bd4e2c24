"""E-mails the training app sends. Plain text, from DEFAULT_FROM_EMAIL."""

from django.conf import settings
from django.core.mail import send_mail


def _absolute(path):
    return settings.WAGTAILADMIN_BASE_URL.rstrip("/") + path


def _send(users, subject, body):
    recipients = [u.email for u in users if u.email]
    if recipients:
        send_mail(subject, body, None, recipients, fail_silently=False)
    return len(recipients)


def module_review_requested(request):
    module = request.module
    page = request.page
    body = (
        f"The material used by the training module \"{module.title}\" has changed.\n\n"
        f"Changed page: {page.title if page else '(deleted page)'}\n"
        f"Changed on: {request.changed_at:%d %B %Y}\n"
        f"What changed: {request.summary}\n\n"
        "Please review the module's activities and knowledge checks, then untick \"needs review\".\n"
        f"{_absolute('/learning/review/')}\n"
    )
    return _send(module.owners.all(), f"Please review the module: {module.title}", body)


def refresher_assigned(enrolment):
    body = (
        f"Guidance you studied in \"{enrolment.module.title}\" has changed.\n\n"
        f"What changed: {enrolment.refresher_summary}\n\n"
        f"A short refresher has been added to your learning: {_absolute('/learning/')}\n"
    )
    return _send([enrolment.user], f"Refresher: {enrolment.module.title}", body)


def recertification_due(certificate, enrolment):
    body = (
        f"Your certificate for \"{certificate.curriculum.title}\" expires on {certificate.expires_on:%d %B %Y}.\n\n"
        "A recertification has been added to your learning. Complete it before the expiry date to stay certified:\n"
        f"{_absolute('/learning/')}\n"
    )
    return _send([certificate.user], f"Recertification due: {certificate.curriculum.title}", body)


def learning_due(enrolment, overdue):
    what = enrolment.target.title if enrolment.target else "your learning"
    when = f"{enrolment.due_date:%d %B %Y}"
    if overdue:
        subject, line = f"Overdue: {what}", f"\"{what}\" was due on {when} and is not complete yet."
    else:
        subject, line = f"Due soon: {what}", f"\"{what}\" is due on {when}."
    return _send([enrolment.user], subject, f"{line}\n\nContinue where you left off: {_absolute('/learning/')}\n")
