"""Sending what is due: claim, check, build, send, mark.

The rules:

* Deliveries are claimed a batch of people at a time by a conditional
  UPDATE (pending -> claimed, with a claim id): two senders never hold the
  same row. A claim older than ``KM_NOTIFY_CLAIM_SECONDS`` (a sender that
  was killed) goes back to pending, so nothing is lost.
* Each message is marked sent the moment the SMTP server accepts it (one
  single-row INSERT into ``SentMessage``; on PostgreSQL without waiting for
  the WAL flush, which a killed worker cannot undo), so a restart resends
  nothing already sent. At the end of each batch one statement turns the
  marks into "sent" on the batch's deliveries; a killed sender's marks are
  turned so by the next run before its claim is put back.
* The reader's right to see each page is checked again here, from the
  database: a change they may no longer see is withheld, title and all.
* An SMTP server that cannot be reached puts the unsent rows back
  (attempts + 1) and raises ``DeliveryDeferred`` for the task to retry.
  An address refused permanently (5xx), or failing
  ``KM_NOTIFY_MAX_FAILURES`` times, is suspended (``MailSuppression``).
"""

import hashlib
import logging
import smtplib
import uuid
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection as db
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from wagtail.models import Page

from ..access import AUTHENTICATED, PUBLIC, SUPERUSER, group_token
from ..models import Delivery, GuidanceChange, MailSuppression, Notification, PageAccessToken, SentMessage
from .mail import LABELS, ChangeFragment, Composer
from .senders import Outcome, make_sender

logger = logging.getLogger("govkm.knowledge")
Status = Delivery.Status


class DeliveryDeferred(Exception):
    """The SMTP server could not be reached; the rows are pending again."""


def claim_seconds():
    return int(getattr(settings, "KM_NOTIFY_CLAIM_SECONDS", 600))


def smtp_connections():
    return max(1, int(getattr(settings, "KM_NOTIFY_SMTP_CONNECTIONS", 1)))


def max_failures():
    return int(getattr(settings, "KM_NOTIFY_MAX_FAILURES", 3))


def release_stale_claims(now=None):
    """A killed sender's claims: what it sent (its marks) becomes sent, the
    rest goes back to pending. Returns how many went back."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=claim_seconds())
    stale = Delivery.objects.filter(status=Status.CLAIMED, claimed_at__lt=cutoff)
    with transaction.atomic():
        stale.filter(Exists(SentMessage.objects.filter(claim=OuterRef("claim"), user_id=OuterRef("user_id")))).update(
            status=Status.SENT, sent_at=now, error="")
        back = stale.update(status=Status.PENDING, claim="")
        SentMessage.objects.filter(sent_at__lt=cutoff).delete()
    return back


def finish_batch(claim):
    """Mark sent, in one statement, the deliveries of the messages the SMTP
    server accepted in this claim's batch; returns how many."""
    with transaction.atomic():
        sent = (Delivery.objects.filter(claim=claim, status=Status.CLAIMED)
                .filter(Exists(SentMessage.objects.filter(claim=claim, user_id=OuterRef("user_id"))))
                .update(status=Status.SENT, sent_at=timezone.now(), error=""))
        SentMessage.objects.filter(claim=claim).delete()
    return sent


def claim_batch(frequency, users=500, change_id=None):
    pending = Delivery.objects.filter(status=Status.PENDING, frequency=frequency)
    if change_id is not None:
        pending = pending.filter(change_id=change_id)
    user_ids = list(pending.order_by("user_id").values_list("user_id", flat=True).distinct()[:users])
    if not user_ids:
        return None
    claim = uuid.uuid4().hex
    (pending.filter(user_id__in=user_ids)
     .update(status=Status.CLAIMED, claim=claim, claimed_at=timezone.now()))
    return claim


def tokens_of(user_ids):
    """{user id: access tokens} read from the database (not the viewer cache)."""
    User = get_user_model()
    users = {}
    for pk, active, superuser, address in User.objects.filter(pk__in=user_ids).values_list(
            "pk", "is_active", "is_superuser", "email").iterator(chunk_size=2000):
        tokens = {PUBLIC}
        if active:
            tokens.add(AUTHENTICATED)
            if superuser:
                tokens.add(SUPERUSER)
        users[pk] = (active, address, tokens)
    for uid, gid in User.groups.through.objects.filter(user_id__in=user_ids).values_list("user_id", "group_id"):
        if users[uid][0]:
            users[uid][2].add(group_token(gid))
    return users


class PageFacts:
    """Who may see each page, and whether it is live, for the pages of a run."""

    def __init__(self):
        self.tokens, self.live = {}, {}

    def load(self, page_ids):
        missing = [pk for pk in page_ids if pk not in self.tokens]
        if not missing:
            return
        for pk in missing:
            self.tokens[pk] = set()
        for pk, token in PageAccessToken.objects.filter(page_id__in=missing).values_list("page_id", "token"):
            self.tokens[pk].add(token)
        self.live.update(dict(Page.objects.filter(pk__in=missing).values_list("pk", "live")))

    def visible(self, page_id, tokens, need_live=True):
        if need_live and not self.live.get(page_id):
            return False
        return bool(self.tokens.get(page_id, set()) & tokens)


class Run:
    """One sending run for a frequency (or for one change's immediate mail)."""

    def __init__(self, frequency, change_id=None, batch_users=500, in_app=True):
        self.frequency, self.change_id, self.batch_users, self.in_app = frequency, change_id, batch_users, in_app
        self.pages, self.fragments = PageFacts(), {}
        self.counts = defaultdict(int)

    def fragment(self, change):
        frag = self.fragments.get(change.pk)
        if frag is None:
            page = Page.objects.filter(pk=change.page_id).first()
            successor = Page.objects.filter(pk=change.successor_id).first() if change.successor_id else None
            page_url = page.full_url if page is not None and page.live else ""
            frag = self.fragments[change.pk] = ChangeFragment(
                change, page_url or "", successor, successor.full_url if successor else "")
        return frag

    def execute(self):
        release_stale_claims()
        sender = make_sender(record_failure, smtp_connections())
        composer = Composer(self.frequency)
        started = False
        fast = db.vendor == "postgresql"
        if fast:
            with db.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO OFF")
        try:
            while True:
                claim = claim_batch(self.frequency, self.batch_users, self.change_id)
                if claim is None:
                    break
                if not started:
                    try:
                        sender.start()
                    except (smtplib.SMTPException, OSError) as exc:
                        self._defer(claim, exc)
                    started = True
                outcome = Outcome()
                self._send_batch(claim, composer, sender, outcome)
                sender.drain()
                self.counts["sent"] += finish_batch(claim)
                self.counts["failed"] += outcome.failed
                if outcome.down is not None:
                    self._defer(claim, outcome.down)
        finally:
            if started:
                sender.close()
            if fast:
                with db.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO DEFAULT")
        return {k: v for k, v in self.counts.items() if v}

    def _defer(self, claim, exc):
        self.counts["sent"] += finish_batch(claim)  # what was accepted before the server went away
        Delivery.objects.filter(claim=claim, status=Status.CLAIMED).update(
            status=Status.PENDING, claim="", attempts=F("attempts") + 1, error=str(exc)[:300])
        logger.warning("notification e-mails deferred: %s", exc)
        raise DeliveryDeferred(str(exc)) from exc

    def _send_batch(self, claim, composer, sender, outcome):
        rows = list(Delivery.objects.filter(claim=claim, status=Status.CLAIMED)
                    .values_list("pk", "user_id", "change_id").order_by("user_id", "change_id"))
        by_user = defaultdict(list)
        for pk, uid, cid in rows:
            by_user[uid].append((pk, cid))
        changes = {c.pk: c for c in GuidanceChange.objects.filter(pk__in={cid for _, _, cid in rows})
                   .select_related("cause")}
        for change in changes.values():
            self.pages.load([pk for pk in (change.page_id, change.successor_id, _cause_page(change)) if pk])
        people = tokens_of(list(by_user))
        suppressed = set(MailSuppression.objects.filter(
            suspended_at__isnull=False, address__in=[p[1].lower() for p in people.values() if p[1]])
            .values_list("address", flat=True))
        withheld, no_mail, in_app = [], [], []
        for uid, items in by_user.items():
            active, address, tokens = people.get(uid, (False, "", set()))
            shown, hide_successor = [], set()
            for pk, cid in items:
                change = changes[cid]
                need_live = change.kind != GuidanceChange.Kind.UNPUBLISHED
                if not active or not self.pages.visible(change.page_id, tokens, need_live):
                    withheld.append(pk)
                    continue
                if change.successor_id and not self.pages.visible(change.successor_id, tokens):
                    hide_successor.add(cid)
                cause = _cause_page(change)
                if cause and not self.pages.visible(cause, tokens):
                    hide_successor.add(cid)  # and the changed page its note names
                shown.append(self.fragment(change))
            if not shown:
                continue
            if self.in_app:
                in_app.append((uid, shown))
            if not address or address.lower() in suppressed:
                no_mail.append(uid)
                continue
            build = composer.raw if sender.raw else composer.message
            sender.submit(claim, uid, address, build(uid, address, shown, hide_successor), outcome)
            if outcome.down is not None:
                break
        now = timezone.now()
        if withheld:
            Delivery.objects.filter(pk__in=withheld).update(status=Status.WITHHELD, sent_at=now)
            self.counts["withheld"] += len(withheld)
        if no_mail:
            self.counts["suppressed"] += Delivery.objects.filter(
                claim=claim, user_id__in=no_mail, status=Status.CLAIMED).update(status=Status.SUPPRESSED, sent_at=now)
        self._record_in_app(in_app)

    def _record_in_app(self, items):
        """The in-app notice, once per person per run (its key is the run's
        first change id and the person)."""
        notes = []
        for uid, shown in items:
            lines = "\n".join(f"{LABELS.get(f.kind, 'Changed')}: {f.title}" for f in shown)
            subject = (f"{LABELS.get(shown[0].kind, 'Changed')}: {shown[0].title}" if len(shown) == 1
                       else f"{len(shown)} changes to guidance you follow")
            ids = ",".join(str(f.change_id) for f in shown)
            key = f"follow:{uid}:{hashlib.sha1(ids.encode(), usedforsecurity=False).hexdigest()}"
            notes.append(Notification(recipient_id=uid, key=key, kind=Notification.Kind.CHANGE,
                                      subject=subject[:200], body=lines, url="/follow/",
                                      emailed_at=timezone.now()))
        Notification.objects.bulk_create(notes, ignore_conflicts=True, batch_size=1000)


def _cause_page(change):
    return change.cause.page_id if change.cause_id and change.cause is not None else None


def record_failure(address, permanent=False, error=""):
    """Count a failure for ``address``; returns True when it is now suspended."""
    row, _ = MailSuppression.objects.get_or_create(address=address.lower())
    row.failures += 1
    row.last_error = error[:300]
    if permanent or row.failures >= max_failures():
        row.suspended_at = row.suspended_at or timezone.now()
    row.save()
    return row.suspended_at is not None


def send_due(frequency, change_id=None, batch_users=500):
    return Run(frequency, change_id=change_id, batch_users=batch_users).execute()
