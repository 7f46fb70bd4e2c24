"""Knowledge work as evidence of competence."""

from django.db.models import Q
from django.utils import timezone

from .models import (
    Competence,
    EvidenceKind,
    EvidenceType,
    FrameworkStatus,
    LevelEvidence,
)


def relevant_competences(kind, page):
    """Competences of active frameworks with a rule for ``kind``, plus the
    competences the page is tagged with."""
    q = Q(framework__status=FrameworkStatus.ACTIVE, evidence_rules__kind=kind)
    if page is not None:
        q |= Q(page_links__page_id=page.pk)
    return Competence.objects.filter(q).distinct()


def record_knowledge_evidence(user, kind, page):
    """Record that ``user`` did knowledge work of ``kind`` (an ``EvidenceKind``
    value, e.g. "review_on_time") on ``page``. Returns the new evidence rows.

    Called on publication (lessons, procedures, policies) and by the
    freshness feature when an owner reviews a page on time. Recording the
    same kind of work on the same page twice in a day adds nothing.
    """
    if kind not in EvidenceKind.values:
        raise ValueError(f"unknown knowledge evidence kind {kind!r}; use one of {', '.join(EvidenceKind.values)}")
    if user is None or not getattr(user, "pk", None):
        return []
    today = timezone.localdate()
    already = set(
        LevelEvidence.objects.filter(
            user=user, type=EvidenceType.KNOWLEDGE_WORK, knowledge_kind=kind,
            page_id=getattr(page, "pk", None), created_at__date=today,
        ).values_list("competence_id", flat=True)
    )
    label = EvidenceKind(kind).label
    title = getattr(page, "title", "")
    rows = [
        LevelEvidence(
            user=user, competence=c, framework_id=c.framework_id, type=EvidenceType.KNOWLEDGE_WORK,
            knowledge_kind=kind, page_id=getattr(page, "pk", None), comment=f"{label}: {title}".strip(": "),
        )
        for c in relevant_competences(kind, page)
        if c.pk not in already
    ]
    return LevelEvidence.objects.bulk_create(rows)


def publication_kind(page):
    """The evidence kind a publication of ``page`` counts as, if any."""
    from knowledge.models import LessonLearnedPage, PolicyPage, ProcedurePage

    if isinstance(page, LessonLearnedPage):
        first = page.first_published_at and page.first_published_at == page.last_published_at
        return EvidenceKind.LESSON_AUTHORED if first else None
    if isinstance(page, ProcedurePage):
        return EvidenceKind.PROCEDURE_PUBLISHED
    if isinstance(page, PolicyPage):
        return EvidenceKind.POLICY_PUBLISHED
    return None
