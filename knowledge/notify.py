"""Notifications: recorded once (unique key), shown in the admin, e-mailed once.

Creating a notification and e-mailing it are separate steps. Notifications
are created inside the transaction that decides them; e-mails go out after
commit (``send_pending``), each claimed by setting ``emailed_at`` before
sending so that two senders never send the same one. A notification whose
e-mail failed is retried by the next sender.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from .models import Notification

logger = logging.getLogger("govkm.knowledge")

#: Notifications wait to be e-mailed (no arguments). Knowledge's own
#: signal handler sends them through the worker once the transaction
#: commits (signal_handlers.py), so this module never imports the tasks
#: that import it.
emails_pending = Signal()


def absolute(path):
    return getattr(settings, "WAGTAILADMIN_BASE_URL", "").rstrip("/") + path


def notify(recipient, key, kind, subject, body, url=""):
    """Record a notification for ``recipient`` unless ``key`` exists already.
    Returns the new notification, or None (duplicate, or nobody to tell)."""
    if recipient is None or not recipient.is_active:
        return None
    if Notification.objects.filter(key=key).exists():
        return None
    try:
        with transaction.atomic():
            return Notification.objects.create(
                recipient=recipient, key=key[:160], kind=kind, subject=subject[:200], body=body, url=url[:300]
            )
    except IntegrityError:  # a concurrent sender recorded it first
        return None


def send_pending_on_commit():
    """Send pending e-mails once the current transaction commits (through
    the worker when one runs; in-process otherwise)."""
    emails_pending.send(sender=Notification)


def send_pending(limit=None):
    """E-mail every notification not yet e-mailed. Returns how many were sent."""
    pending = Notification.objects.filter(emailed_at__isnull=True).select_related("recipient").order_by("pk")
    if limit:
        pending = pending[:limit]
    sent = 0
    for note in list(pending):
        claimed = Notification.objects.filter(pk=note.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
        if not claimed:
            continue
        address = note.recipient.email
        if not address:
            Notification.objects.filter(pk=note.pk).update(email_error="no e-mail address")
            continue
        body = note.body + (f"\n\n{absolute(note.url)}\n" if note.url else "\n")
        try:
            send_mail(note.subject, body, None, [address], fail_silently=False)
        except Exception as exc:
            logger.warning("e-mail for notification %s failed: %s", note.pk, exc)
            Notification.objects.filter(pk=note.pk).update(emailed_at=None, email_error=str(exc)[:300])
            continue
        if note.email_error:
            Notification.objects.filter(pk=note.pk).update(email_error="")
        sent += 1
    return sent


def unread_for(user, limit=10):
    return Notification.objects.filter(recipient=user, read_at__isnull=True)[:limit]


def mark_read(user, ids=None):
    qs = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return qs.update(read_at=timezone.now())


def display_name(user):
    if user is None:
        return "nobody"
    return user.get_full_name() or user.get_username()
