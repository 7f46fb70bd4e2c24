"""The learning engine: opening and completing activities, scoring knowledge
checks, completing modules, raising competence levels and completing
enrolments. Views, tasks and commands all go through these functions."""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from .models import (
    Activity,
    ActivityKind,
    ActivityProgress,
    AttainedLevel,
    CheckAttempt,
    Enrolment,
    EnrolmentKind,
    EvidenceType,
    LevelEvidence,
    LevelSource,
    Module,
    ModuleCompletion,
    ProgressStatus,
)

DUE_SOON_DAYS = 14


class LearningError(Exception):
    """A learner or trainer asked for something the rules do not allow."""


# --- status ------------------------------------------------------------------
class Status:
    COMPLETED = "completed"
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    IN_PROGRESS = "in_progress"
    ASSIGNED = "assigned"

    LABELS = {
        COMPLETED: "Completed",
        OVERDUE: "Overdue",
        DUE_SOON: "Due soon",
        IN_PROGRESS: "In progress",
        ASSIGNED: "Not started",
    }


def status_of(enrolment, today=None):
    today = today or timezone.localdate()
    if enrolment.completed_at:
        return Status.COMPLETED
    if enrolment.due_date and enrolment.due_date < today:
        return Status.OVERDUE
    if enrolment.due_date and enrolment.due_date <= today + datetime.timedelta(days=DUE_SOON_DAYS):
        return Status.DUE_SOON
    if enrolment.started_at:
        return Status.IN_PROGRESS
    return Status.ASSIGNED


def modules_of(enrolment):
    if enrolment.curriculum_id:
        return list(enrolment.curriculum.ordered_modules())
    return [enrolment.module] if enrolment.module_id else []


@dataclass
class Progress:
    done: int
    total: int

    @property
    def percent(self):
        return round(100 * self.done / self.total) if self.total else 0


def enrolment_progress(user, enrolments):
    """{enrolment pk: Progress} in three queries, however many enrolments."""
    enrolments = list(enrolments)
    curriculum_ids = {e.curriculum_id for e in enrolments if e.curriculum_id}
    modules_by_curriculum = defaultdict(set)
    for cid, mid in Module.objects.filter(curriculum_id__in=curriculum_ids).values_list("curriculum_id", "pk"):
        modules_by_curriculum[cid].add(mid)
    module_ids = {e.module_id for e in enrolments if e.module_id} | {
        m for mids in modules_by_curriculum.values() for m in mids
    }
    activities = defaultdict(set)
    for mid, aid in Activity.objects.filter(module_id__in=module_ids).values_list("module_id", "pk"):
        activities[mid].add(aid)
    done_ids = set(
        ActivityProgress.objects.filter(
            user=user, status=ProgressStatus.COMPLETED, activity__module_id__in=module_ids
        ).values_list("activity_id", flat=True)
    )
    out = {}
    for e in enrolments:
        if e.kind == EnrolmentKind.REFRESHER:
            out[e.pk] = Progress(1 if e.completed_at else 0, 1)
            continue
        mids = modules_by_curriculum[e.curriculum_id] if e.curriculum_id else {e.module_id}
        aids = set().union(*(activities[m] for m in mids)) if mids else set()
        done = len(aids) if e.completed_at else len(aids & done_ids)
        out[e.pk] = Progress(done, len(aids))
    return out


# --- activities --------------------------------------------------------------
def completed_module_ids(user):
    return set(ModuleCompletion.objects.filter(user=user).values_list("module_id", flat=True))


def missing_prerequisites(user, module):
    done = completed_module_ids(user)
    return [m for m in module.prerequisites.all() if m.pk not in done]


def _check_unlocked(user, activity):
    missing = missing_prerequisites(user, activity.module)
    if missing:
        names = ", ".join(m.title for m in missing)
        raise LearningError(f"Complete the prerequisite modules first: {names}.")


def _mark_started(user, module, now):
    Enrolment.objects.filter(user=user, started_at__isnull=True, completed_at__isnull=True).filter(
        Q(module=module) | Q(curriculum_id=module.curriculum_id, curriculum__isnull=False)
    ).update(started_at=now)


@transaction.atomic
def open_activity(user, activity):
    """Record that the learner opened an activity (a page or a resource)."""
    _check_unlocked(user, activity)
    now = timezone.now()
    progress, created = ActivityProgress.objects.get_or_create(
        user=user, activity=activity, defaults={"opened_at": now, "status": ProgressStatus.OPENED}
    )
    if not created and progress.opened_at is None:
        progress.opened_at = now
        progress.save(update_fields=["opened_at", "updated_at"])
    _mark_started(user, activity.module, now)
    return progress


@transaction.atomic
def confirm_activity(user, activity):
    """The learner confirms they read the page or used the resource."""
    if activity.kind not in (ActivityKind.READ, ActivityKind.EXTERNAL):
        raise LearningError("Only reading and external activities are confirmed by the learner.")
    progress = ActivityProgress.objects.select_for_update().filter(user=user, activity=activity).first()
    if progress is None or progress.opened_at is None:
        raise LearningError("Open the material first, then confirm you have read it.")
    if progress.status != ProgressStatus.COMPLETED:
        progress.status, progress.completed_at = ProgressStatus.COMPLETED, timezone.now()
        progress.save(update_fields=["status", "completed_at", "updated_at"])
        after_activity_completed(user, activity)
    return progress


def attempts_left(user, activity):
    progress = ActivityProgress.objects.filter(user=user, activity=activity).first()
    used = progress.attempts if progress else 0
    return max(0, activity.max_attempts - used)


@transaction.atomic
def submit_check(user, activity, answers):
    """Score a knowledge check. ``answers`` maps question id to the chosen
    answer's index. Returns the recorded ``CheckAttempt``."""
    if activity.kind != ActivityKind.CHECK:
        raise LearningError("This activity is not a knowledge check.")
    _check_unlocked(user, activity)
    questions = list(activity.questions.all())
    if not questions:
        raise LearningError("This knowledge check has no questions yet.")
    now = timezone.now()
    progress, _ = ActivityProgress.objects.get_or_create(
        user=user, activity=activity, defaults={"opened_at": now}
    )
    progress = ActivityProgress.objects.select_for_update().get(pk=progress.pk)
    if progress.status == ProgressStatus.COMPLETED:
        raise LearningError("You have already passed this knowledge check.")
    if progress.attempts >= activity.max_attempts:
        raise LearningError("You have used all your attempts at this knowledge check. Ask the module owner for help.")
    missing = [i for i, q in enumerate(questions, 1) if q.pk not in answers]
    if missing:
        raise LearningError(f"Answer every question (missing: {', '.join(map(str, missing))}).")
    correct = 0
    for q in questions:
        choice = answers[q.pk]
        if not 0 <= choice < len(q.parsed_choices()):
            raise LearningError(f"Question {q.prompt[:40]!r}: choose one of the answers shown.")
        correct += int(choice == q.correct_index)
    score = round(100 * correct / len(questions))
    passed = score >= activity.pass_mark
    number = (CheckAttempt.objects.filter(user=user, activity=activity).aggregate(n=Max("number"))["n"] or 0) + 1
    attempt = CheckAttempt.objects.create(
        user=user, activity=activity, number=number, answers={str(k): v for k, v in answers.items()},
        score=score, passed=passed, submitted_at=now,
    )
    progress.attempts += 1
    progress.score = max(progress.score or 0, score)
    if passed:
        progress.status, progress.completed_at = ProgressStatus.COMPLETED, now
    elif progress.attempts >= activity.max_attempts:
        progress.status = ProgressStatus.FAILED
    progress.save()
    _mark_started(user, activity.module, now)
    if passed:
        after_activity_completed(user, activity)
    return attempt


@transaction.atomic
def mark_attendance(trainer, activity, users):
    """A trainer records who attended a face-to-face session."""
    if activity.kind != ActivityKind.ATTENDANCE:
        raise LearningError("Attendance is only recorded for face-to-face sessions.")
    now, marked = timezone.now(), 0
    for user in users:
        progress, _ = ActivityProgress.objects.get_or_create(user=user, activity=activity, defaults={"opened_at": now})
        if progress.status == ProgressStatus.COMPLETED:
            continue
        progress.status, progress.completed_at, progress.marked_by = ProgressStatus.COMPLETED, now, trainer
        progress.save()
        _mark_started(user, activity.module, now)
        after_activity_completed(user, activity)
        marked += 1
    return marked


def after_activity_completed(user, activity):
    module = activity.module
    ids = set(module.activities.values_list("pk", flat=True))
    done = set(
        ActivityProgress.objects.filter(user=user, activity_id__in=ids, status=ProgressStatus.COMPLETED)
        .values_list("activity_id", flat=True)
    )
    if ids and ids <= done:
        complete_module(user, module)


# --- modules and levels ------------------------------------------------------
@transaction.atomic
def complete_module(user, module, when=None):
    when = when or timezone.now()
    scores = list(
        ActivityProgress.objects.filter(
            user=user, activity__module=module, activity__kind=ActivityKind.CHECK, score__isnull=False
        ).values_list("score", flat=True)
    )
    score = round(sum(scores) / len(scores)) if scores else None
    completion = ModuleCompletion.objects.create(user=user, module=module, completed_at=when, score=score)
    raise_levels(user, module, score, when)
    complete_satisfied_enrolments(
        Enrolment.objects.filter(user=user, completed_at__isnull=True).filter(
            Q(module=module) | Q(curriculum_id=module.curriculum_id, curriculum__isnull=False)
        )
    )
    return completion


def raise_levels(user, module, score, when):
    """Completing a module raises (never lowers) each competence it develops."""
    for mc in module.competences.select_related("competence"):
        current = AttainedLevel.objects.select_for_update().filter(user=user, competence=mc.competence).first()
        previous = current.level if current else None
        if current is None:
            AttainedLevel.objects.create(
                user=user, competence=mc.competence, level=mc.level, source=LevelSource.MODULE, attained_at=when
            )
        elif mc.level > current.level:
            current.level, current.source, current.attained_at = mc.level, LevelSource.MODULE, when
            current.validated_by, current.validated_at = None, None
            current.save()
        LevelEvidence.objects.create(
            user=user, competence=mc.competence, framework_id=mc.competence.framework_id, type=EvidenceType.MODULE,
            level=mc.level, previous_level=previous, module=module, score=score, created_at=when,
        )


@transaction.atomic
def set_level(manager, user, competence, level=None, comment=""):
    """A manager validates the current level (``level`` None or unchanged) or
    adjusts it to ``level``; an adjustment needs a comment."""
    now = timezone.now()
    current = AttainedLevel.objects.select_for_update().filter(user=user, competence=competence).first()
    previous = current.level if current else None
    top = competence.framework.max_level
    if level is not None and not 0 <= level <= top:
        raise LearningError(f"Choose a level between 0 and {top}.")
    adjusting = level is not None and level != previous
    if adjusting and not comment.strip():
        raise LearningError("Say why you are changing the level (a comment is required).")
    if not adjusting and current is None:
        raise LearningError("There is no level to validate yet; choose a level to set one.")
    if current is None:
        current = AttainedLevel(user=user, competence=competence, level=level)
    if adjusting:
        current.level, current.source, current.attained_at = level, LevelSource.MANAGER, now
    current.validated_by, current.validated_at, current.comment = manager, now, comment.strip()
    if adjusting and level == 0:
        if current.pk:
            current.delete()
    else:
        current.save()
    LevelEvidence.objects.create(
        user=user, competence=competence, framework_id=competence.framework_id,
        type=EvidenceType.ADJUSTED if adjusting else EvidenceType.VALIDATED,
        level=level if adjusting else previous, previous_level=previous, comment=comment.strip(),
        recorded_by=manager, created_at=now,
    )
    return current


# --- enrolments --------------------------------------------------------------
def complete_satisfied_enrolments(queryset, batch=2000):
    """Mark complete every enrolment in ``queryset`` whose modules are all
    completed (after it started, for recertifications). Works in bulk."""
    from .certificates import issue_certificate

    pending = list(
        queryset.filter(completed_at__isnull=True).exclude(kind=EnrolmentKind.REFRESHER)
        .select_related("curriculum").order_by("pk")
    )
    finished = []
    for start in range(0, len(pending), batch):
        chunk = pending[start:start + batch]
        curriculum_ids = {e.curriculum_id for e in chunk if e.curriculum_id}
        by_curriculum = defaultdict(set)
        for cid, mid in Module.objects.filter(curriculum_id__in=curriculum_ids).values_list("curriculum_id", "pk"):
            by_curriculum[cid].add(mid)
        module_ids = {e.module_id for e in chunk if e.module_id} | set().union(*by_curriculum.values())
        latest = {
            (u, m): t
            for u, m, t in ModuleCompletion.objects.filter(
                user_id__in={e.user_id for e in chunk}, module_id__in=module_ids
            ).values("user_id", "module_id").annotate(last=Max("completed_at")).values_list("user_id", "module_id", "last")
        }
        for e in chunk:
            mids = by_curriculum[e.curriculum_id] if e.curriculum_id else {e.module_id}
            times = [latest.get((e.user_id, m)) for m in mids]
            if not mids or any(t is None for t in times):
                continue
            if e.kind == EnrolmentKind.RECERTIFICATION and any(t < e.created_at for t in times):
                continue
            e.completed_at = max(times)
            finished.append(e)
    if finished:
        Enrolment.objects.bulk_update(finished, ["completed_at"], batch_size=1000)
        for e in finished:
            if e.curriculum_id and e.curriculum.issues_certificate:
                issue_certificate(e.user, e.curriculum, e.completed_at)
    return finished


@transaction.atomic
def enrol_self(user, curriculum):
    if not (curriculum.is_open and curriculum.live):
        raise LearningError("This curriculum is not open for self-enrolment.")
    existing = Enrolment.objects.filter(user=user, curriculum=curriculum, completed_at__isnull=True).first()
    if existing:
        return existing
    enrolment = Enrolment.objects.create(user=user, curriculum=curriculum, kind=EnrolmentKind.SELF)
    complete_satisfied_enrolments(Enrolment.objects.filter(pk=enrolment.pk))
    enrolment.refresh_from_db()
    return enrolment


def open_refresher(user, enrolment):
    if enrolment.user_id != user.pk or enrolment.kind != EnrolmentKind.REFRESHER:
        raise LearningError("This is not one of your refreshers.")
    if enrolment.started_at is None:
        enrolment.started_at = timezone.now()
        enrolment.save(update_fields=["started_at"])


def confirm_refresher(user, enrolment):
    if enrolment.user_id != user.pk or enrolment.kind != EnrolmentKind.REFRESHER:
        raise LearningError("This is not one of your refreshers.")
    if enrolment.started_at is None:
        raise LearningError("Open the changed page first, then confirm you have read what changed.")
    if enrolment.completed_at is None:
        enrolment.completed_at = timezone.now()
        enrolment.save(update_fields=["completed_at"])
