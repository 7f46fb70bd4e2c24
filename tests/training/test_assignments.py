"""Assignment expansion: people, groups, units with sub-units, job profiles, newcomers."""

import datetime

import pytest
from django.contrib.auth.models import Group

from tests.conftest import Today
from training.assignments import apply_assignments, expand_assignment
from training.models import AssigneeKind, Assignment, Enrolment, StaffProfile

from . import factories as tf

pytestmark = pytest.mark.django_db


def enrolled(target):
    field = "curriculum" if hasattr(target, "is_open") else "module"
    return set(Enrolment.objects.filter(**{field: target}).values_list("user__username", flat=True))


def test_unit_assignment_reaches_sub_units_unless_told_not_to(units, course):
    tf.staff("m", unit=units["ministry"])
    tf.staff("d", unit=units["directorate"])
    tf.staff("t", unit=units["team"])
    tf.staff("a", unit=units["agency"])
    tf.assign(course["curriculum"], AssigneeKind.UNIT, units["directorate"])
    assert enrolled(course["curriculum"]) == {"d", "t"}
    tf.assign(course["first"], AssigneeKind.UNIT, units["ministry"], include_subunits=False)
    assert enrolled(course["first"]) == {"m"}


def test_job_profile_group_and_person_assignments(units, fw, course):
    _, comps = fw
    analyst = tf.job_profile({comps["C1"]: 2})
    tf.staff("x", job_profile=analyst)
    tf.staff("y", job_profile=analyst)
    tf.staff("z")
    tf.assign(course["curriculum"], AssigneeKind.JOB_PROFILE, analyst)
    assert enrolled(course["curriculum"]) == {"x", "y"}
    editors = tf.staff("ed", role="editor")
    tf.assign(course["first"], AssigneeKind.GROUP, Group.objects.get(name="Editors"))
    tf.assign(course["second"], AssigneeKind.USER, editors)
    assert enrolled(course["first"]) == {"ed"}
    assert enrolled(course["second"]) == {"ed"}


def test_expansion_is_idempotent_and_skips_inactive_users(units, course):
    tf.staff("a1", unit=units["team"])
    gone = tf.staff("a2", unit=units["team"])
    gone.is_active = False
    gone.save()
    assignment = tf.assign(course["curriculum"], AssigneeKind.UNIT, units["team"], due_date=datetime.date(2030, 1, 1))
    assert expand_assignment(assignment) == 0
    assert Enrolment.objects.filter(assignment=assignment).count() == 1
    assert Enrolment.objects.get(assignment=assignment).due_date == datetime.date(2030, 1, 1)


def test_newcomer_to_a_unit_gets_its_assignments_on_commit(units, course, django_capture_on_commit_callbacks):
    assignment = tf.assign(course["curriculum"], AssigneeKind.UNIT, units["ministry"], due_within_days=30)
    newcomer = tf.staff("new", unit=None)
    assert not Enrolment.objects.filter(user=newcomer).exists()
    today = Today()
    with django_capture_on_commit_callbacks(execute=True):
        profile = StaffProfile.objects.get(user=newcomer)
        profile.unit = units["team"]  # a sub-unit of the ministry
        profile.save()
    enrolment = Enrolment.objects.get(user=newcomer)
    assert enrolment.assignment == assignment
    assert enrolment.due_date in today.plus(days=30)


def test_newcomer_to_a_group_gets_its_assignments(course, django_capture_on_commit_callbacks):
    assignment = Assignment.objects.create(
        module=course["first"], assignee_kind=AssigneeKind.GROUP, group=Group.objects.get_or_create(name="HR")[0]
    )
    user = tf.staff("joiner")
    with django_capture_on_commit_callbacks(execute=True):
        user.groups.add(Group.objects.get(name="HR"))
    assert Enrolment.objects.filter(user=user, assignment=assignment).exists()


def test_saving_an_assignment_in_the_admin_expands_it_on_commit(units, course, django_capture_on_commit_callbacks):
    tf.staff("u1", unit=units["agency"])
    with django_capture_on_commit_callbacks(execute=True):
        Assignment.objects.create(curriculum=course["curriculum"], assignee_kind=AssigneeKind.UNIT, unit=units["agency"])
    assert enrolled(course["curriculum"]) == {"u1"}


def test_apply_assignments_ignores_other_units_and_inactive_assignments(units, course):
    tf.assign(course["curriculum"], AssigneeKind.UNIT, units["agency"])
    inactive = Assignment.objects.create(module=course["first"], assignee_kind=AssigneeKind.UNIT,
                                         unit=units["ministry"], active=False)
    user = tf.staff("p", unit=units["team"])
    assert apply_assignments(user) == 0
    assert not Enrolment.objects.filter(assignment=inactive).exists()


def test_assignment_validation_names_the_missing_field(course):
    from django.core.exceptions import ValidationError

    a = Assignment(assignee_kind=AssigneeKind.UNIT)
    with pytest.raises(ValidationError) as exc:
        a.clean()
    assert "curriculum" in exc.value.message_dict and "unit" in exc.value.message_dict
