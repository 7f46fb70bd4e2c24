"""What a publication means for other pages.

* The published page was updated, so its own "a cited page changed" flags
  are cleared.
* A lesson that proposes an amendment opens a review task for the owner of
  the procedure or policy concerned.
* A material change (the editor ticked "material change" and said what
  changed) flags every live page that cites the page, and the pages citing
  those, to ``KM_PROPAGATION_DEPTH`` hops. The walk is breadth-first over
  sets of page ids, one query per hop, so cycles end and a page reached by
  two paths (a diamond) is flagged once, at its shortest distance. Flags are
  keyed by revision: publishing the same revision again flags nothing new.
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from . import fragments, signals
from .directory import UnitDirectory, reviewers_for
from .freshness import Freshness, freshness_state, propagation_depth
from .models import Citation, KnowledgePage, LessonLearnedPage, MaterialChange, ReviewTask
from .notify import absolute, display_name, notify, send_pending_on_commit

logger = logging.getLogger("govkm.knowledge")
HISTORIC = (Freshness.SUPERSEDED, Freshness.RESCINDED)


def task_days():
    return int(getattr(settings, "KM_REVIEW_TASK_DAYS", 30))


@transaction.atomic
def on_page_published(page, revision=None, user=None):
    """Everything a publication of the specific knowledge ``page`` sets off."""
    now = timezone.now()
    revision_id = getattr(revision, "pk", None) or page.live_revision_id
    cleared = ReviewTask.objects.open().filter(page_id=page.pk, kind=ReviewTask.Kind.CITED_CHANGE).update(
        completed_at=now, completed_by=user, outcome=ReviewTask.Outcome.UPDATED
    )
    owner = page.owner_user
    if owner is not None and owner.is_active:  # tasks nobody (active) holds go to the owner
        ReviewTask.objects.open().filter(page_id=page.pk).filter(
            Q(reviewer__isnull=True) | Q(reviewer__is_active=False)).update(reviewer=owner)
    if isinstance(page, LessonLearnedPage):
        open_amendment_task(page)
    change = None
    if page.material_change and revision_id:
        ReviewTask.objects.open().filter(page_id=page.pk, kind=ReviewTask.Kind.AMENDMENT).update(
            completed_at=now, completed_by=user, outcome=ReviewTask.Outcome.AMENDED,
            outcome_comment=page.change_summary,
        )
        change = propagate_change(page, revision_id, page.change_summary, now, user)
        KnowledgePage.objects.filter(pk=page.pk).update(material_change=False, change_summary="")
    if cleared:
        state = freshness_state(page)
        KnowledgePage.objects.filter(pk=page.pk).update(freshness=state)
    return change


def propagate_change(page, revision_id, summary, changed_at=None, user=None, depth=None):
    """Flag the pages citing ``page`` (transitively) for review. Returns the
    ``MaterialChange``; a revision already propagated is not propagated again."""
    changed_at = changed_at or timezone.now()
    depth = depth or propagation_depth()
    summary = (summary or "").strip()[:255] or "The page was updated."
    with transaction.atomic():
        change, created = MaterialChange.objects.get_or_create(
            revision_id=revision_id,
            defaults={"page_id": page.pk, "summary": summary, "changed_at": changed_at, "user": user},
        )
        if not created:
            return change
        reached = walk_citers(page.pk, depth)
        flagged = _flag(page, change, reached)
        change.flagged_count, change.depth_reached = len(flagged), max(reached.values(), default=(0, 0))[0]
        change.save(update_fields=["flagged_count", "depth_reached"])
    signals.material_change.send(
        sender=KnowledgePage, page_id=page.pk, revision_id=revision_id, summary=summary, changed_at=changed_at,
    )
    return change


def walk_citers(page_id, depth):
    """{citing page id: (hops, the page it cites on the way)} for live pages
    citing ``page_id`` within ``depth`` hops; never ``page_id`` itself."""
    seen, reached, frontier = {page_id}, {}, {page_id}
    for hops in range(1, depth + 1):
        if not frontier:
            break
        found = {}
        links = Citation.objects.filter(target_id__in=frontier, page__live=True).values_list("page_id", "target_id")
        for citing, cited in links.order_by("page_id", "target_id"):
            if citing not in seen and citing not in found:
                found[citing] = cited
        seen.update(found)
        reached.update({pk: (hops, via) for pk, via in found.items()})
        frontier = set(found)
    return reached


def _flag(page, change, reached):
    if not reached:
        return []
    rows = list(
        KnowledgePage.objects.filter(pk__in=reached).exclude(freshness__in=HISTORIC)
        .values_list("pk", "owner_user_id", "unit_id")
    )
    directory = UnitDirectory()
    reviewers = reviewers_for(rows, directory)
    due = timezone.localdate() + datetime.timedelta(days=task_days())
    tasks = [
        ReviewTask(
            key=f"changed:{pk}:{change.revision_id}", page_id=pk, kind=ReviewTask.Kind.CITED_CHANGE,
            reviewer_id=reviewers[pk], due_date=due, note=change.summary, change=change, changed_page_id=page.pk,
            via_page_id=reached[pk][1], depth=reached[pk][0],
        )
        for pk, _, _ in rows
    ]
    ReviewTask.objects.bulk_create(tasks, ignore_conflicts=True, batch_size=500)
    ids = [pk for pk, _, _ in rows]
    KnowledgePage.objects.filter(pk__in=ids).update(freshness=Freshness.NEEDS_REVIEW)
    fragments.pages_changed(ids)  # bulk_create sends no signals: their flag lists changed
    signals.freshness_changed.send(sender=KnowledgePage, page_ids=ids, reason="freshness")
    _notify_flagged(page, change, rows, reviewers)
    return ids


def _notify_flagged(page, change, rows, reviewers):
    by_reviewer = {}
    for pk, _, _ in rows:
        if reviewers[pk]:
            by_reviewer.setdefault(reviewers[pk], []).append(pk)
    if not by_reviewer:
        return
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk(list(by_reviewer))
    titles = dict(KnowledgePage.objects.filter(pk__in=[pk for pk, _, _ in rows]).values_list("pk", "title"))
    when = timezone.localdate(change.changed_at)
    for user_id, page_ids in by_reviewer.items():
        listed = "\n".join(f"- {titles[pk]}: {absolute(f'/admin/knowledge/review/{pk}/')}" for pk in sorted(page_ids))
        body = (
            f"{page.title} changed on {when.day} {when:%B %Y}: {change.summary}\n\n"
            f"These pages you look after cite it, directly or through another page, and now need review:\n"
            f"{listed}\n\nUpdate each page, or confirm it is still accurate."
        )
        notify(
            users[user_id], f"change:{change.revision_id}:{user_id}", "change",
            f"Needs review: {page.title} changed", body, url="/admin/",
        )
    send_pending_on_commit()


def open_amendment_task(lesson):
    """A published lesson proposing an amendment opens one review task for
    the owner of the page concerned (once per lesson and page)."""
    target = lesson.amendment_target
    text = (lesson.proposed_amendment or "").strip()
    if target is None or not text:
        return None
    key = f"amend:{lesson.pk}:{target.pk}"
    if ReviewTask.objects.filter(key=key).exists():
        return None
    target = target.specific
    from .review import reviewer_for

    reviewer = reviewer_for(target)
    task = ReviewTask.objects.create(
        key=key, page=target, kind=ReviewTask.Kind.AMENDMENT, reviewer=reviewer,
        due_date=timezone.localdate() + datetime.timedelta(days=task_days()), note=text, lesson=lesson,
    )
    body = (
        f"The lesson learned \"{lesson.title}\" proposes an amendment to \"{target.title}\":\n\n{text}\n\n"
        f"Please decide by {task.due_date:%d %B %Y}. Publishing the page with \"material change\" ticked "
        "records the amendment as made; you can also mark it made or not needed from the review page."
    )
    notify(reviewer, f"amendment:{task.pk}", "amendment", f"Amendment proposed: {target.title}", body,
           url=f"/admin/knowledge/review/{target.pk}/")
    send_pending_on_commit()
    logger.info("lesson %s proposes an amendment to %s (reviewer %s)", lesson.pk, target.pk, display_name(reviewer))
    return task
