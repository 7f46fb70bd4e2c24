"""Activities, knowledge-check scoring and attempts, prerequisites, module
completion, level attainment, manager validation and enrolment completion."""

import pytest

from training import learning
from training.models import (
    ActivityProgress,
    AssigneeKind,
    AttainedLevel,
    Certificate,
    CheckAttempt,
    Enrolment,
    EvidenceType,
    LevelEvidence,
    ModuleCompletion,
    ProgressStatus,
)

from . import factories as tf

pytestmark = pytest.mark.django_db


def finish_first(user, course):
    learning.open_activity(user, course["read_a"])
    learning.confirm_activity(user, course["read_a"])
    return learning.submit_check(user, course["check"], tf.answers(course["check"]))


def test_reading_completes_only_after_opening(course):
    user = tf.staff("reader")
    with pytest.raises(learning.LearningError, match="Open the material first"):
        learning.confirm_activity(user, course["read_a"])
    progress = learning.open_activity(user, course["read_a"])
    assert progress.opened_at and progress.status == ProgressStatus.OPENED
    progress = learning.confirm_activity(user, course["read_a"])
    assert progress.status == ProgressStatus.COMPLETED and progress.completed_at >= progress.opened_at


@pytest.mark.parametrize("right,score,passed", [(4, 100, True), (3, 75, True), (2, 50, False), (0, 0, False)])
def test_knowledge_check_scoring(course, right, score, passed):
    user = tf.staff(f"s{right}")
    attempt = learning.submit_check(user, course["check"], tf.answers(course["check"], right=right))
    assert (attempt.score, attempt.passed) == (score, passed)


def test_score_rounds_to_nearest_percent(fw):
    module = tf.module("Three questions")
    check = tf.check_activity(module, [(f"Q{i}", ["a", "b"], 0) for i in range(3)], pass_mark=67)
    user = tf.staff("r3")
    attempt = learning.submit_check(user, check, tf.answers(check, right=2))
    assert attempt.score == 67 and attempt.passed  # 2/3 = 66.7% rounds to 67


def test_attempts_are_limited_and_each_is_recorded(course):
    user = tf.staff("tries")
    check = course["check"]  # max_attempts=2, pass mark 75
    first = learning.submit_check(user, check, tf.answers(check, right=1))
    second = learning.submit_check(user, check, tf.answers(check, right=2))
    assert [first.number, second.number] == [1, 2]
    with pytest.raises(learning.LearningError, match="used all your attempts"):
        learning.submit_check(user, check, tf.answers(check))
    progress = ActivityProgress.objects.get(user=user, activity=check)
    assert progress.status == ProgressStatus.FAILED and progress.attempts == 2 and progress.score == 50
    assert list(CheckAttempt.objects.filter(user=user).values_list("score", flat=True)) == [25, 50]
    assert learning.attempts_left(user, check) == 0


def test_a_passed_check_cannot_be_retaken_and_answers_are_validated(course):
    user = tf.staff("pass")
    check = course["check"]
    with pytest.raises(learning.LearningError, match="Answer every question"):
        learning.submit_check(user, check, {})
    bad = tf.answers(check)
    bad[next(iter(bad))] = 9
    with pytest.raises(learning.LearningError, match="choose one of the answers"):
        learning.submit_check(user, check, bad)
    assert not CheckAttempt.objects.filter(user=user).exists()  # invalid input uses no attempt
    learning.submit_check(user, check, tf.answers(check))
    with pytest.raises(learning.LearningError, match="already passed"):
        learning.submit_check(user, check, tf.answers(check))


def test_prerequisites_lock_a_module(course):
    user = tf.staff("early")
    with pytest.raises(learning.LearningError, match="prerequisite"):
        learning.open_activity(user, course["read_b"])
    finish_first(user, course)
    learning.open_activity(user, course["read_b"])


def test_completing_a_module_raises_levels_with_evidence(fw, course):
    _, comps = fw
    user = tf.staff("learner")
    finish_first(user, course)
    completion = ModuleCompletion.objects.get(user=user, module=course["first"])
    assert completion.score == 100
    assert AttainedLevel.objects.get(user=user, competence=comps["C1"]).level == 3
    evidence = LevelEvidence.objects.get(user=user, type=EvidenceType.MODULE)
    assert (evidence.module, evidence.score, evidence.level, evidence.previous_level) == (course["first"], 100, 3, None)
    assert evidence.framework == comps["C1"].framework

    learning.open_activity(user, course["read_b"])
    learning.confirm_activity(user, course["read_b"])
    levels = dict(AttainedLevel.objects.filter(user=user).values_list("competence__code", "level"))
    assert levels == {"C1": 4, "C2": 2}


def test_levels_are_never_lowered_by_a_module(fw):
    _, comps = fw
    user = tf.staff("senior")
    AttainedLevel.objects.create(user=user, competence=comps["C1"], level=5)
    module = tf.module("Basics", develops={comps["C1"]: 2})
    page_module_activity = tf.check_activity(module)
    learning.submit_check(user, page_module_activity, tf.answers(page_module_activity))
    assert AttainedLevel.objects.get(user=user, competence=comps["C1"]).level == 5
    assert LevelEvidence.objects.get(user=user).previous_level == 5


def test_manager_validates_and_adjusts_with_a_comment(fw):
    _, comps = fw
    boss, user = tf.staff("boss"), tf.staff("worker")
    with pytest.raises(learning.LearningError, match="no level to validate"):
        learning.set_level(boss, user, comps["C1"])
    with pytest.raises(learning.LearningError, match="comment is required"):
        learning.set_level(boss, user, comps["C1"], 3, "")
    learning.set_level(boss, user, comps["C1"], 3, "Ran the records project")
    learning.set_level(boss, user, comps["C1"], None, "Seen in practice")
    level = AttainedLevel.objects.get(user=user, competence=comps["C1"])
    assert (level.level, level.validated_by, level.comment) == (3, boss, "Seen in practice")
    with pytest.raises(learning.LearningError, match="between 0 and 6"):
        learning.set_level(boss, user, comps["C1"], 7, "Too high")
    kinds = list(LevelEvidence.objects.filter(user=user).order_by("created_at").values_list("type", flat=True))
    assert kinds == [EvidenceType.ADJUSTED, EvidenceType.VALIDATED]


def test_curriculum_enrolment_completes_and_issues_a_certificate(units, course):
    user = tf.staff("cert", unit=units["team"])
    tf.assign(course["curriculum"], AssigneeKind.UNIT, units["team"])
    enrolment = Enrolment.objects.get(user=user)
    finish_first(user, course)
    enrolment.refresh_from_db()
    assert enrolment.started_at and not enrolment.completed_at
    learning.open_activity(user, course["read_b"])
    learning.confirm_activity(user, course["read_b"])
    enrolment.refresh_from_db()
    assert enrolment.completed_at
    cert = Certificate.objects.get(user=user, curriculum=course["curriculum"])
    assert cert.expires_on is not None


def test_assignment_of_something_already_completed_is_complete_at_once(units, course):
    user = tf.staff("done", unit=units["agency"])
    finish_first(user, course)
    tf.assign(course["first"], AssigneeKind.UNIT, units["agency"])
    assert Enrolment.objects.get(user=user, module=course["first"]).completed_at is not None


def test_progress_and_status(units, course):
    user = tf.staff("prog", unit=units["team"])
    tf.assign(course["curriculum"], AssigneeKind.UNIT, units["team"])
    enrolment = Enrolment.objects.get(user=user)
    assert learning.status_of(enrolment) == learning.Status.ASSIGNED
    learning.open_activity(user, course["read_a"])
    learning.confirm_activity(user, course["read_a"])
    enrolment.refresh_from_db()
    progress = learning.enrolment_progress(user, [enrolment])[enrolment.pk]
    assert (progress.done, progress.total, progress.percent) == (1, 3, 33)
    assert learning.status_of(enrolment) == learning.Status.IN_PROGRESS


def test_self_enrolment_only_in_open_curricula(course):
    user = tf.staff("keen")
    enrolment = learning.enrol_self(user, course["curriculum"])
    assert enrolment.kind == "self"
    assert learning.enrol_self(user, course["curriculum"]) == enrolment
    closed = tf.curriculum("Closed")
    with pytest.raises(learning.LearningError, match="not open"):
        learning.enrol_self(user, closed)


def test_attendance_marked_by_trainer_completes_the_activity(fw):
    trainer, user = tf.staff("trainer"), tf.staff("attendee")
    module = tf.module("Workshop module")
    session = tf.attendance_activity(module, trainer=trainer)
    assert learning.mark_attendance(trainer, session, [user]) == 1
    progress = ActivityProgress.objects.get(user=user, activity=session)
    assert progress.status == ProgressStatus.COMPLETED and progress.marked_by == trainer
    assert ModuleCompletion.objects.filter(user=user, module=module).exists()
    assert learning.mark_attendance(trainer, session, [user]) == 0
