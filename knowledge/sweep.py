"""The freshness sweep: recompute states, open review tasks, remind owners,
escalate to managers, store the day's figures.

It works in bulk: pages are read as rows in primary-key batches, states are
computed in Python by the same rules as a single page (``compute_state``)
and only changed rows are written, one UPDATE per (state, due date) group.
Nothing goes through Wagtail's revision machinery.

Every stage is idempotent, so a sweep interrupted half way and run again
ends in the same state as one uninterrupted run:

* states are recomputed from the pages' own dates, not incrementally;
* review tasks, reminders and notifications carry unique keys derived from
  what they are about (page, state, review cycle), and each recipient's
  digest is written in one transaction with the reminders it covers;
* the day's snapshot rows are replaced, not added to;
* e-mails are claimed before they are sent, so none goes out twice.
"""

import datetime
import hashlib
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from .access import AUTHENTICATED, PUBLIC
from .directory import UnitDirectory, active_user_ids
from .freshness import Freshness, compute_state, due_soon_days, grace_days, review_due_date
from .models import (
    FreshnessSnapshot,
    KnowledgePage,
    Notification,
    PageAccessToken,
    PolicyPage,
    Reminder,
    ReviewTask,
    Visibility,
)
from .notify import send_pending
from .ownership import transfer_from_inactive_owners
from .policies import PolicyStatus
from .signals import freshness_changed

HISTORIC = (Freshness.SUPERSEDED, Freshness.RESCINDED)
IN_CHUNK = 500  # ids per IN (...) list


@dataclass
class SweepSummary:
    date: str
    pages: int = 0
    states: dict = field(default_factory=dict)
    changed: int = 0
    reindexed: int = 0
    reindex_seconds: float = 0.0
    tasks_opened: int = 0
    tasks_cancelled: int = 0
    reminders: int = 0
    escalations: int = 0
    notifications: dict = field(default_factory=dict)
    emails_sent: int = 0
    transfers: int = 0
    snapshot_rows: int = 0
    seconds: float = 0.0

    def as_dict(self):
        return asdict(self)


class NullProgress:
    def start(self, label, total):
        pass

    def advance(self, n=1):
        pass

    def finish(self):
        pass


def _chunks(items, size=IN_CHUNK):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _default_intervals():
    from django.contrib.contenttypes.models import ContentType

    from .models import LessonLearnedPage, ProcedurePage

    models = [KnowledgePage, PolicyPage, ProcedurePage, LessonLearnedPage]
    types = ContentType.objects.get_for_models(*models)
    return {types[m].pk: m.default_review_interval_months for m in models}


def run_sweep(today=None, progress=None, batch_size=2000, send_email=True):
    """Run every stage for ``today`` (the site's local date by default)."""
    started = time.perf_counter()
    today = today or timezone.localdate()
    progress = progress or NullProgress()
    summary = SweepSummary(date=today.isoformat())
    summary.transfers = len(transfer_from_inactive_owners())
    snapshot = recompute_states(today, progress, batch_size, summary)
    open_cycle_tasks(today, summary)
    directory = UnitDirectory()
    send_digests(today, progress, summary, directory)
    escalate(today, progress, summary, directory)
    summary.snapshot_rows = store_snapshot(today, snapshot)
    if send_email:
        summary.emails_sent = send_pending()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


# --- states --------------------------------------------------------------
def recompute_states(today, progress, batch_size, summary):
    """Bring every live page's stored state and due date up to date.
    Returns the snapshot counts {(unit id, state, visibility): n}."""
    defaults = _default_intervals()
    window = due_soon_days()
    statuses = dict(PolicyPage.objects.exclude(status=PolicyStatus.IN_FORCE).values_list("pk", "status"))
    superseded = set(
        PolicyPage.objects.live()
        .filter(status=PolicyStatus.IN_FORCE, effective_date__isnull=False, effective_date__lte=today)
        .exclude(supersedes__isnull=True).values_list("supersedes_id", flat=True)
    )
    public = set(PageAccessToken.objects.filter(token=PUBLIC).values_list("page_id", flat=True))
    signed_in = set(PageAccessToken.objects.filter(token=AUTHENTICATED).values_list("page_id", flat=True))
    live = KnowledgePage.objects.filter(live=True)
    progress.start("Freshness states", live.count())
    counts, snapshot, last_pk = Counter(), Counter(), 0
    fields = ("pk", "content_type_id", "review_interval_months", "last_reviewed_at", "first_published_at",
              "freshness", "review_due", "unit_id")
    while True:
        rows = list(live.filter(pk__gt=last_pk).order_by("pk").values_list(*fields)[:batch_size])
        if not rows:
            break
        first_pk, last_pk = rows[0][0], rows[-1][0]
        flagged = set(
            ReviewTask.objects.open()
            .filter(kind=ReviewTask.Kind.CITED_CHANGE, page_id__gte=first_pk, page_id__lte=last_pk)
            .values_list("page_id", flat=True)
        )
        groups, state_changed = defaultdict(list), []
        for pk, ct, interval, reviewed, first, stored_state, stored_due, unit_id in rows:
            due = review_due_date(reviewed, first, interval or defaults.get(ct, 12))
            state = compute_state(due=due, today=today, status=statuses.get(pk), superseded=pk in superseded,
                                  flagged=pk in flagged, window_days=window)
            counts[state] += 1
            visibility = Visibility.PUBLIC if pk in public else (
                Visibility.INTERNAL if pk in signed_in else Visibility.RESTRICTED)
            snapshot[(unit_id, state, visibility)] += 1
            if state != stored_state or due != stored_due:
                groups[(state, due)].append(pk)
                if state != stored_state:
                    state_changed.append(pk)
        # Re-indexing is scheduled first: search computes a page's freshness
        # from its dates, so the work is right whenever it runs, and a sweep
        # stopped before the update below schedules it again next time.
        scheduling = time.perf_counter()
        reindex(state_changed)
        summary.reindex_seconds += time.perf_counter() - scheduling
        with transaction.atomic():
            for (state, due), ids in groups.items():
                for chunk in _chunks(ids):
                    KnowledgePage.objects.filter(pk__in=chunk).update(freshness=state, review_due=due)
        summary.changed += sum(len(ids) for ids in groups.values())
        summary.reindexed += len(state_changed)
        progress.advance(len(rows))
    progress.finish()
    summary.reindex_seconds = round(summary.reindex_seconds, 3)
    summary.pages = sum(counts.values())
    summary.states = {state: counts.get(state, 0) for state in Freshness.ORDER}
    return snapshot


def reindex(page_ids, reason="freshness", per_transaction=200):
    """Announce that these pages' stored state changed (their indexed
    ``freshness`` is out of date; search re-indexes them), in small
    transactions so that a long sweep holds no lock for long."""
    for chunk in _chunks(page_ids, per_transaction):
        with transaction.atomic():
            freshness_changed.send(sender=KnowledgePage, page_ids=list(chunk), reason=reason)


# --- review tasks --------------------------------------------------------
def _cycle_key(pk, due):
    return f"cycle:{pk}:{due.isoformat()}"


@transaction.atomic
def open_cycle_tasks(today, summary):
    """One scheduled-review task per page and review cycle, from the time it
    is due soon; tasks of cycles that no longer apply are cancelled."""
    now = timezone.now()
    current = Q(page__live=True, page__review_due=F("due_date")) & ~Q(page__freshness__in=HISTORIC)
    stale = ReviewTask.objects.open().filter(kind=ReviewTask.Kind.CYCLE).exclude(current)
    stale_ids = list(stale.values_list("pk", flat=True))
    for chunk in _chunks(stale_ids):
        ReviewTask.objects.filter(pk__in=chunk).update(completed_at=now, outcome=ReviewTask.Outcome.CANCELLED)
    summary.tasks_cancelled = len(stale_ids)
    horizon = today + datetime.timedelta(days=due_soon_days())
    rows = list(
        KnowledgePage.objects.filter(live=True, review_due__lte=horizon).exclude(freshness__in=HISTORIC)
        .values_list("pk", "owner_user_id", "unit_id", "review_due")
    )
    from .directory import reviewers_for

    known = set(ReviewTask.objects.filter(kind=ReviewTask.Kind.CYCLE, due_date__lte=horizon)
                .values_list("key", flat=True))
    rows = [row for row in rows if _cycle_key(row[0], row[3]) not in known]
    reviewers = reviewers_for([(pk, owner, unit) for pk, owner, unit, _ in rows])
    created = ReviewTask.objects.bulk_create(
        [ReviewTask(key=_cycle_key(pk, due), page_id=pk, kind=ReviewTask.Kind.CYCLE, reviewer_id=reviewers[pk],
                    due_date=due, created_at=now) for pk, _, _, due in rows],
        ignore_conflicts=True, batch_size=500,
    )
    summary.tasks_opened = len(created)


# --- reminders and escalations --------------------------------------------
def _reminder_key(prefix, pk, state, cycle):
    return f"{prefix}:{pk}:{state}:{cycle}"


def _existing(keys):
    found = set()
    for chunk in _chunks(keys, 900):
        found.update(Reminder.objects.filter(key__in=chunk).values_list("key", flat=True))
    return found


def _deliver(recipient_id, kind, items, subject, intro, today, summary):
    """One notification to one person covering ``items`` (dicts with key,
    pk, title, state, due), written together with its reminder rows."""
    digest = hashlib.sha1("|".join(sorted(i["key"] for i in items)).encode()).hexdigest()[:16]
    lines = []
    for state in Freshness.ORDER:
        chosen = [i for i in items if i["state"] == state]
        if chosen:
            lines.append(f"\n{Freshness.LABELS[state]} ({len(chosen)}):")
            lines.extend(
                f"- {i['title']}" + (f" (review due {i['due'].day} {i['due']:%b %Y})" if i["due"] else "")
                + (f" — {i['note']}" if i.get("note") else "") + f"\n  /admin/knowledge/review/{i['pk']}/"
                for i in sorted(chosen, key=lambda i: (i["due"] or today, i["title"]))
            )
    try:
        with transaction.atomic():
            note = Notification.objects.create(
                recipient_id=recipient_id, key=f"{kind}:{recipient_id}:{today.isoformat()}:{digest}", kind=kind,
                subject=subject, body=intro + "\n" + "\n".join(lines), url="/admin/",
            )
            Reminder.objects.bulk_create([
                Reminder(key=i["key"], page_id=i["pk"], recipient_id=recipient_id, state=i["state"],
                         notification=note) for i in items
            ])
    except IntegrityError:  # a concurrent sweep delivered it
        return 0
    summary.notifications[kind] = summary.notifications.get(kind, 0) + 1
    return len(items)


def _attention_rows(queryset):
    return list(queryset.values_list("pk", "title", "freshness", "review_due", "owner_user_id", "unit_id"))


def send_digests(today, progress, summary, directory):
    """Each owner gets one digest of what became due soon, overdue or
    flagged since they were last told (never the same page-state twice)."""
    rows = _attention_rows(
        KnowledgePage.objects.filter(live=True, freshness__in=Freshness.ATTENTION).order_by("pk")
    )
    flags = dict(
        ReviewTask.objects.open().filter(kind=ReviewTask.Kind.CITED_CHANGE).order_by()
        .values("page_id").annotate(latest=Max("pk")).values_list("page_id", "latest")
    )
    notes = {
        page_id: f"{changed or 'a cited page'} changed: {note}" if note else f"{changed or 'a cited page'} changed"
        for page_id, changed, note in ReviewTask.objects.filter(pk__in=flags.values())
        .values_list("page_id", "changed_page__title", "note")
    }
    active = active_user_ids(owner for *_, owner, _ in rows)
    by_recipient = defaultdict(list)
    for pk, title, state, due, owner, unit in rows:
        recipient = owner if owner in active else directory.lead(unit)
        if recipient is None:
            continue
        cycle = flags.get(pk, "-") if state == Freshness.NEEDS_REVIEW else (due.isoformat() if due else "-")
        by_recipient[recipient].append({
            "key": _reminder_key("r", pk, state, cycle), "pk": pk, "title": title, "state": state, "due": due,
            "note": notes.get(pk, "") if state == Freshness.NEEDS_REVIEW else "",
        })
    known = _existing(i["key"] for items in by_recipient.values() for i in items)
    progress.start("Owner digests", len(by_recipient))
    for recipient, items in sorted(by_recipient.items()):
        new = [i for i in items if i["key"] not in known]
        if new:
            n = len(new)
            summary.reminders += _deliver(
                recipient, Notification.Kind.DIGEST, new,
                f"GovKM: {n} page{'s' if n != 1 else ''} to review",
                "These pages you look after need attention. Update them, or open each one and confirm it is "
                "still accurate.", today, summary,
            )
        progress.advance()
    progress.finish()


def escalate(today, progress, summary, directory):
    """Pages overdue by more than the grace period go to the manager of the
    owning unit (or the nearest manager above it), once per review cycle."""
    limit = today - datetime.timedelta(days=grace_days())
    rows = _attention_rows(
        KnowledgePage.objects.filter(live=True, review_due__lt=limit).exclude(freshness__in=HISTORIC).order_by("pk")
    )
    owners = get_user_model().objects.in_bulk({owner for *_, owner, _ in rows if owner})
    by_manager = defaultdict(list)
    for pk, title, _state, due, owner, unit in rows:
        manager = directory.manager(unit)
        if manager is None:
            continue
        who = owners.get(owner)
        by_manager[manager].append({
            "key": _reminder_key("e", pk, "escalated", due.isoformat()), "pk": pk, "title": title,
            "state": Freshness.OVERDUE, "due": due,
            "note": f"{(today - due).days} days overdue, owner {who.get_full_name() or who.get_username() if who else 'none'}",
        })
    known = _existing(i["key"] for items in by_manager.values() for i in items)
    progress.start("Escalations", len(by_manager))
    for manager, items in sorted(by_manager.items()):
        new = [i for i in items if i["key"] not in known]
        if new:
            n = len(new)
            summary.escalations += _deliver(
                manager, Notification.Kind.ESCALATION, new,
                f"GovKM: {n} page{'s' if n != 1 else ''} overdue for review in your units",
                f"These pages are more than {grace_days()} days overdue for review. Please ask their owners to "
                "review them, or reassign them.", today, summary,
            )
        progress.advance()
    progress.finish()


# --- figures ---------------------------------------------------------------
@transaction.atomic
def store_snapshot(today, counts):
    FreshnessSnapshot.objects.filter(date=today).delete()
    FreshnessSnapshot.objects.bulk_create(
        [FreshnessSnapshot(date=today, unit_id=unit, state=state, visibility=visibility, count=n)
         for (unit, state, visibility), n in counts.items()],
        batch_size=500,
    )
    return len(counts)
