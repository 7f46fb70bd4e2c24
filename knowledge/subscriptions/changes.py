"""What readers are told about: the rule for turning a publication into
``GuidanceChange`` events, and events into one ``Delivery`` per person.

* A first publication is a new page.
* A publication the editor marked as a material change (with its change
  note) is a change; the pages citing it, to the propagation depth, get a
  "may be affected by a change to ..." event each.
* A policy published as superseding another tells the followers of the
  older one, naming its successor; a policy whose status becomes rescinded
  tells its followers.
* An unpublication tells the page's followers that it was withdrawn.
* Anything else (a correction, a wording change) tells nobody.

Each event has a unique key derived from what it is about (the revision,
the pair of pages), so a publication handled twice records it once; each
person gets one delivery row per event (unique), whatever they follow.
"""

import logging

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from wagtail.models import Page, PageLogEntry

from ..freshness import propagation_depth
from ..models import Delivery, GuidanceChange, KnowledgePage, Subscription
from ..models.subscriptions import FREQUENCY_RANK
from . import follow

logger = logging.getLogger("govkm.knowledge")
Kind = GuidanceChange.Kind
SUPERSEDED_NOTE = "This policy has been superseded."
AFFECTED_NOTE = "May be affected by a change to a page it cites."


def reader_note(change, may_see_cause):
    """The note a reader is shown: a "may be affected" note names the changed
    page and says what changed, so it is shown only to those who may see
    that page; the others read that a page it cites changed."""
    if change.kind == Kind.AFFECTED and not may_see_cause:
        return AFFECTED_NOTE
    return change.note


def previous_published_revision_id(page, revision_id):
    entry = (PageLogEntry.objects.filter(page_id=page.pk, action="wagtail.publish", revision__isnull=False)
             .exclude(revision_id=revision_id).order_by("-timestamp", "-pk").first())
    return entry.revision_id if entry else None


def _record(key, **fields):
    try:
        with transaction.atomic():
            return GuidanceChange.objects.create(key=key[:160], **fields), True
    except IntegrityError:
        return GuidanceChange.objects.get(key=key[:160]), False


def changes_for_publication(page, revision_id, material, note):
    """Record the events a publication of the specific ``page`` means; returns them."""
    previous = previous_published_revision_id(page, revision_id)
    recorded = []
    note = (note or "").strip()
    base = {"revision_id": revision_id, "previous_revision_id": previous, "title": page.title}
    if previous is None and not page.alias_of_id:
        recorded.append(_record(f"new:{page.pk}:{revision_id}", page_id=page.pk, kind=Kind.NEW,
                                note=page.summary if hasattr(page, "summary") else "", **base))
    elif material and note:
        change, created = _record(f"material:{revision_id}", page_id=page.pk, kind=Kind.MATERIAL, note=note, **base)
        recorded.append((change, created))
        if created:
            recorded += _affected(page, change)
    old_status = _previous_field(previous, "status")
    if getattr(page, "status", None) == "rescinded" and old_status != "rescinded":
        recorded.append(_record(f"rescinded:{page.pk}:{revision_id}", page_id=page.pk, kind=Kind.RESCINDED,
                                note=note or "This policy has been rescinded.", **base))
    older_id = getattr(page, "supersedes_id", None)
    if older_id and _previous_field(previous, "supersedes") != older_id:
        older = Page.objects.filter(pk=older_id).first()
        if older is not None:
            recorded.append(_record(
                f"superseded:{older_id}:{page.pk}", page_id=older_id, kind=Kind.SUPERSEDED, successor_id=page.pk,
                title=older.title, note=SUPERSEDED_NOTE,  # the successor is named only to those who may see it
                revision_id=older.live_revision_id, previous_revision_id=None,
            ))
    return [change for change, created in recorded if created]


def _previous_field(revision_id, name):
    if revision_id is None:
        return None
    from wagtail.models import Revision

    content = Revision.objects.filter(pk=revision_id).values_list("content", flat=True).first() or {}
    return content.get(name)


def _affected(page, cause):
    from ..propagation import walk_citers

    reached = walk_citers(page.pk, propagation_depth())
    out = []
    titles = dict(KnowledgePage.objects.filter(pk__in=reached, live=True).values_list("pk", "title"))
    for pk in sorted(titles):
        out.append(_record(
            f"affected:{pk}:{cause.pk}", page_id=pk, kind=Kind.AFFECTED, cause=cause, title=titles[pk],
            note=f"May be affected by a change to {page.title}: {cause.note}",
        ))
    return out


def change_for_unpublication(page):
    revision_id = page.live_revision_id or page.latest_revision_id
    change, created = _record(f"unpublished:{page.pk}:{revision_id}", page_id=page.pk, kind=Kind.UNPUBLISHED,
                              title=page.title, revision_id=None, previous_revision_id=revision_id,
                              note="This page has been withdrawn and is no longer published.")
    return [change] if created else []


def fan_out(change_id):
    """Create one delivery per follower of the change's page (once). Returns
    how many were created."""
    change = GuidanceChange.objects.filter(pk=change_id).select_related("page").first()
    if change is None or change.fanned_out:
        return 0
    page = KnowledgePage.objects.filter(pk=change.page_id).first()
    if page is None:
        return 0
    created = insert_deliveries(change.pk, follow.follower_keys(page))
    GuidanceChange.objects.filter(pk=change.pk).update(fanned_out=True)
    return created


def insert_deliveries(change_id, keys):
    """One statement, set-based: INSERT ... SELECT from the subscriptions
    reaching the page (``keys``), one row per active person at their most
    frequent frequency (ROW_NUMBER over the person's subscriptions, which
    PostgreSQL and SQLite both have), ON CONFLICT DO NOTHING against the
    (change, person) constraint, so running it twice creates nothing more.
    The rows never pass through Python: building them there as tuples and
    sending multi-row INSERTs took 772 s for 2,000,000 rows on the loaded
    machine (bench/notifications.py, README)."""
    if not keys:
        return 0
    qn = connection.ops.quote_name
    rank = " ".join(f"WHEN '{freq}' THEN {r}" for freq, r in FREQUENCY_RANK.items())
    sql = (
        f"INSERT INTO {qn(Delivery._meta.db_table)} "  # noqa: S608 - table names and ranks are ours; values bound
        "(change_id, user_id, frequency, reason, status, claim, attempts, error, created_at) "
        "SELECT %s, ranked.user_id, ranked.frequency, ranked.target_key, 'pending', '', 0, '', %s FROM ("
        "  SELECT s.user_id, s.frequency, s.target_key, ROW_NUMBER() OVER ("
        f"    PARTITION BY s.user_id ORDER BY CASE s.frequency {rank} ELSE 9 END, s.id) AS n"
        f"  FROM {qn(Subscription._meta.db_table)} s JOIN {qn(get_user_model()._meta.db_table)} u ON u.id = s.user_id"
        f"  WHERE s.target_key IN ({', '.join(['%s'] * len(keys))}) AND NOT s.paused AND u.is_active"
        ") ranked WHERE ranked.n = 1 "  # a WHERE before ON CONFLICT: SQLite's parser needs one after a SELECT
        "ON CONFLICT (change_id, user_id) DO NOTHING"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [change_id, now, *[k[:220] for k in keys]])
        return max(cursor.rowcount, 0)
