"""Knowledge work recorded as evidence against competences."""

import pytest

from tests import factories as kf
from training.evidence import record_knowledge_evidence
from training.models import (
    CompetenceEvidenceRule,
    EvidenceKind,
    EvidenceType,
    FrameworkStatus,
    LevelEvidence,
    PageCompetence,
)

from . import factories as tf

pytestmark = pytest.mark.django_db


def test_rules_and_page_tags_choose_the_competences(fw):
    _, comps = fw
    CompetenceEvidenceRule.objects.create(competence=comps["C1"], kind=EvidenceKind.REVIEW_ON_TIME)
    page = kf.policy("Tagged policy")
    PageCompetence.objects.create(page=page, competence=comps["C3"])
    retired, old = tf.framework("old", status=FrameworkStatus.RETIRED, codes=("O1",))
    CompetenceEvidenceRule.objects.create(competence=old["O1"], kind=EvidenceKind.REVIEW_ON_TIME)
    user = tf.staff("reviewer")
    rows = record_knowledge_evidence(user, "review_on_time", page)
    assert {r.competence.code for r in rows} == {"C1", "C3"}  # not the retired framework's rule
    assert all(r.type == EvidenceType.KNOWLEDGE_WORK and r.page_id == page.pk for r in rows)
    assert record_knowledge_evidence(user, "review_on_time", page) == []  # same work, same day: once


def test_unknown_kind_is_an_error(fw):
    with pytest.raises(ValueError, match="unknown knowledge evidence kind"):
        record_knowledge_evidence(tf.staff("u"), "wrote_a_poem", None)


def test_publishing_pages_records_evidence(fw, django_capture_on_commit_callbacks):
    _, comps = fw
    CompetenceEvidenceRule.objects.create(competence=comps["C2"], kind=EvidenceKind.PROCEDURE_PUBLISHED)
    CompetenceEvidenceRule.objects.create(competence=comps["C1"], kind=EvidenceKind.LESSON_AUTHORED)
    author = tf.staff("author", role="content_owner")
    with django_capture_on_commit_callbacks(execute=True):
        kf.procedure("Publish me", owner=author)
    assert list(LevelEvidence.objects.values_list("user__username", "knowledge_kind", "competence__code")) == [
        ("author", "procedure_published", "C2")]

    from knowledge.models import LessonLearnedPage

    lesson = LessonLearnedPage(
        title="What we learned", slug="what-we-learned", summary="s", project="p", event_date="2025-01-01",
        context="<p>c</p>", what_happened="<p>w</p>", recommendations="<p>r</p>", audience="public",
    )
    with django_capture_on_commit_callbacks(execute=True):
        kf._publish(lesson, kf.section("lessons-learned"), True, author)
    assert LevelEvidence.objects.filter(knowledge_kind="lesson_authored", competence=comps["C1"]).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        lesson.save_revision(user=author).publish(user=author)  # a later edit is not authorship
    assert LevelEvidence.objects.filter(knowledge_kind="lesson_authored").count() == 1
