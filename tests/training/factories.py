"""Builders for training test data (knowledge pages and users come from
tests/factories.py)."""

import itertools

from tests import factories as kf
from training.models import (
    Activity,
    ActivityKind,
    Assignment,
    Competence,
    CompetenceArea,
    Curriculum,
    Framework,
    FrameworkStatus,
    JobProfile,
    JobProfileRequirement,
    Module,
    ModuleCompetence,
    ProficiencyLevel,
    Question,
    StaffProfile,
)

_seq = itertools.count(1)


def framework(slug="km", version="1", levels=6, codes=("C1", "C2", "C3"), status=FrameworkStatus.ACTIVE,
              published_on="2025-01-01"):
    """A framework with one area holding ``codes``; returns (framework, {code: competence})."""
    fw = Framework.objects.create(name=f"Framework {slug}", slug=slug, version=version, status=status,
                                  published_on=published_on)
    for n in range(1, levels + 1):
        ProficiencyLevel.objects.create(framework=fw, number=n, name=f"Level {n}", descriptor=f"Descriptor {n}")
    area = CompetenceArea.objects.create(framework=fw, code="A", name="Area A")
    comps = {code: Competence.objects.create(area=area, code=code, name=f"Competence {code}") for code in codes}
    return fw, comps


def job_profile(requires, slug=None):
    """``requires`` maps competence → level."""
    n = next(_seq)
    profile = JobProfile.objects.create(name=f"Profile {n}", slug=slug or f"profile-{n}")
    for competence, level in requires.items():
        JobProfileRequirement.objects.create(job_profile=profile, competence=competence, level=level)
    return profile


def staff(username, role="civil_servant", unit=None, job_profile=None, manager=None, **extra):
    user = kf.user(username, role, **extra)
    StaffProfile.objects.update_or_create(
        user=user, defaults={"unit": unit, "job_profile": job_profile, "manager": manager}
    )
    user.refresh_from_db()
    return user


def curriculum(title="Curriculum", is_open=False, validity=None, **extra):
    n = next(_seq)
    return Curriculum.objects.create(title=title, slug=f"curriculum-{n}", summary="Summary.", is_open=is_open,
                                     certificate_validity_months=validity, **extra)


def module(title="Module", curriculum=None, develops=None, owners=(), prerequisites=(), sort_order=0):
    n = next(_seq)
    m = Module.objects.create(title=title, slug=f"module-{n}", summary="Summary.", curriculum=curriculum,
                              sort_order=sort_order)
    for competence, level in (develops or {}).items():
        ModuleCompetence.objects.create(module=m, competence=competence, level=level)
    if owners:
        m.owners.set(owners)
    if prerequisites:
        m.prerequisites.set(prerequisites)
    m.save()  # parental many-to-many relations are written on save
    return Module.objects.get(pk=m.pk)


def read_activity(module, page, title="Read the page"):
    return Activity.objects.create(module=module, kind=ActivityKind.READ, title=title, page=page,
                                   sort_order=next(_seq))


def check_activity(module, questions=None, pass_mark=75, max_attempts=2, title="Knowledge check"):
    """``questions``: list of (prompt, [choices], correct index). Default: four questions."""
    activity = Activity.objects.create(module=module, kind=ActivityKind.CHECK, title=title, pass_mark=pass_mark,
                                       max_attempts=max_attempts, sort_order=next(_seq))
    questions = questions or [(f"Question {i}?", ["Wrong", "Right", "Also wrong"], 1) for i in range(1, 5)]
    for i, (prompt, choices, correct) in enumerate(questions):
        lines = [("*" if j == correct else "") + c for j, c in enumerate(choices)]
        Question.objects.create(activity=activity, prompt=prompt, choices="\n".join(lines), sort_order=i)
    return activity


def attendance_activity(module, trainer=None):
    return Activity.objects.create(module=module, kind=ActivityKind.ATTENDANCE, title="Workshop", trainer=trainer,
                                   sort_order=next(_seq))


def answers(activity, right=None):
    """Answers to a check: the first ``right`` questions correct, the rest wrong."""
    out = {}
    for i, q in enumerate(activity.questions.order_by("sort_order", "pk")):
        correct = right is None or i < right
        out[q.pk] = q.correct_index if correct else (q.correct_index + 1) % len(q.parsed_choices())
    return out


def assign(target, kind, assignee, **extra):
    from training.assignments import expand_assignment

    fields = {"curriculum": target} if isinstance(target, Curriculum) else {"module": target}
    assignment = Assignment.objects.create(assignee_kind=kind, **{kind: assignee}, **fields, **extra)
    expand_assignment(assignment)
    return assignment

