"""Expanding assignments into enrolments, including for newcomers."""

import datetime
from contextlib import contextmanager
from contextvars import ContextVar

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from knowledge.models import OrgUnit

from .models import AssigneeKind, Assignment, Enrolment, EnrolmentKind

_paused = ContextVar("training_auto_assign_paused", default=False)


@contextmanager
def auto_assign_paused():
    """Bulk operations (imports, demo) apply assignments themselves, once."""
    token = _paused.set(True)
    try:
        yield
    finally:
        _paused.reset(token)


def auto_assign_is_paused():
    return _paused.get()


def members(assignment):
    """Active users the assignment currently reaches."""
    users = get_user_model().objects.filter(is_active=True)
    kind = assignment.assignee_kind
    if kind == AssigneeKind.USER:
        return users.filter(pk=assignment.user_id)
    if kind == AssigneeKind.GROUP:
        return users.filter(groups=assignment.group_id)
    if kind == AssigneeKind.UNIT:
        if assignment.include_subunits:
            unit_ids = assignment.unit.descendant_ids()
        else:
            unit_ids = {assignment.unit_id}
        return users.filter(staff_profile__unit_id__in=unit_ids)
    if kind == AssigneeKind.JOB_PROFILE:
        return users.filter(staff_profile__job_profile_id=assignment.job_profile_id)
    return users.none()


def due_date_for(assignment, joined=None):
    if assignment.due_within_days is not None:
        return (joined or timezone.localdate()) + datetime.timedelta(days=assignment.due_within_days)
    return assignment.due_date


def _new_enrolment(assignment, user_id, due):
    return Enrolment(
        user_id=user_id, assignment=assignment, curriculum_id=assignment.curriculum_id,
        module_id=assignment.module_id, kind=EnrolmentKind.ASSIGNED, due_date=due,
    )


@transaction.atomic
def expand_assignment(assignment):
    """Give every current member an enrolment; returns how many were created.
    Idempotent: members who already have one are left alone."""
    if not assignment.active:
        return 0
    have = set(Enrolment.objects.filter(assignment=assignment).values_list("user_id", flat=True))
    due = assignment.due_date if assignment.due_date else due_date_for(assignment)
    new = [
        _new_enrolment(assignment, uid, due)
        for uid in members(assignment).values_list("pk", flat=True).iterator(chunk_size=2000)
        if uid not in have
    ]
    Enrolment.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    from .learning import complete_satisfied_enrolments

    complete_satisfied_enrolments(Enrolment.objects.filter(assignment=assignment, completed_at__isnull=True))
    return len(new)


def assignments_reaching(user):
    """Active assignments whose assignee includes ``user`` right now."""
    profile = getattr(user, "staff_profile", None)
    q = Q(assignee_kind=AssigneeKind.USER, user=user) | Q(
        assignee_kind=AssigneeKind.GROUP, group__in=user.groups.all()
    )
    if profile is not None and profile.unit_id:
        ancestors = [u.pk for u in profile.unit.ancestors_and_self()]
        q |= Q(assignee_kind=AssigneeKind.UNIT, unit_id=profile.unit_id)
        q |= Q(assignee_kind=AssigneeKind.UNIT, unit_id__in=ancestors, include_subunits=True)
    if profile is not None and profile.job_profile_id:
        q |= Q(assignee_kind=AssigneeKind.JOB_PROFILE, job_profile_id=profile.job_profile_id)
    return Assignment.objects.filter(q, active=True).distinct()


@transaction.atomic
def apply_assignments(user):
    """Enrol a newcomer (or someone who moved) in what now reaches them."""
    have = set(Enrolment.objects.filter(user=user, assignment__isnull=False).values_list("assignment_id", flat=True))
    profile = getattr(user, "staff_profile", None)
    joined = getattr(profile, "joined_unit_on", None) or timezone.localdate()
    new = [
        _new_enrolment(a, user.pk, due_date_for(a, joined))
        for a in assignments_reaching(user)
        if a.pk not in have
    ]
    Enrolment.objects.bulk_create(new, ignore_conflicts=True)
    if new:
        from .learning import complete_satisfied_enrolments

        complete_satisfied_enrolments(Enrolment.objects.filter(user=user, completed_at__isnull=True))
    return len(new)


def units_below(unit):
    return OrgUnit.objects.filter(pk__in=unit.descendant_ids())
