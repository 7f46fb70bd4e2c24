"""The addresses the accessibility audit visits, read from the stack's own
database (the demo content), so the audit follows the content rather than a
list of slugs that drifts. Run inside the stack's environment:

    python manage.py shell -c "from tests.e2e.a11y_targets import main; main()"

It prints one JSON object: name -> path (or null when the demo holds no
such page, which the audit reports as a failure, not a skip)."""

import json

JOURNEY_CURRICULUM = "records-and-data-protection"


def first_url(queryset):
    page = queryset.first()
    return page.url if page is not None else None


def attach_a_document(page):
    """The demo's procedures carry no attachments: publish one with a document,
    as an editor would, so the audit sees the attachment list."""
    from django.core.files.base import ContentFile
    from wagtail.documents import get_document_model

    from knowledge.models import PageAttachment

    if page is None:
        return None
    document = get_document_model()(title="Incident report form")
    document.file.save("incident-report-form.txt", ContentFile(b"Incident report form\n"), save=True)
    page.attachments.add(PageAttachment(document=document, label="Incident report form"))
    page.save_revision().publish()
    return page


def collect():
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from knowledge.models import (
        KnowledgePage,
        LessonLearnedPage,
        PolicyPage,
        ProcedurePage,
        SectionIndexPage,
        Topic,
        TopicIndexPage,
    )
    from knowledge.models.pages import PolicyStatus
    from training.models import Activity, Certificate, Curriculum, ImportJob, Module
    from training.models.curriculum import ActivityKind

    public = {"view_restrictions__isnull": True}
    policies = PolicyPage.objects.live().filter(**public)
    civil = get_user_model().objects.get(username="civil")
    procedure = (ProcedurePage.objects.live().filter(**public).annotate(n=Count("attachments"))
                 .filter(n__gt=0).order_by("-n").first()) or attach_a_document(
        ProcedurePage.objects.live().filter(**public).order_by("pk").first())
    policy_section = SectionIndexPage.objects.live().filter(
        pk__in=[p.get_parent().pk for p in policies[:1]]).first()
    topic_index = TopicIndexPage.objects.live().first()
    topic = Topic.objects.filter(pages__in=policies).first()
    # never the curriculum the training journey takes (tests/e2e/test_journeys_training.py): the
    # audit submits an attempt, and both share one stack in either order
    curricula = Curriculum.objects.exclude(slug=JOURNEY_CURRICULUM).order_by("slug")
    # a check the civil servant has not attempted (the audit sees it before and after one)
    check = (Activity.objects.filter(kind=ActivityKind.CHECK, module__curriculum__in=curricula,
                                     module__prerequisites__isnull=True)
             .exclude(attempts__user=civil).order_by("pk").first())
    # a certificate: the demo issues none, so one is issued here
    cert = Certificate.objects.filter(user=civil).exclude(curriculum__slug=JOURNEY_CURRICULUM).first()
    if cert is None:
        cert = Certificate.objects.create(user=civil, curriculum=curricula.first())
    job = ImportJob.objects.order_by("-pk").first()
    owned = KnowledgePage.objects.live().filter(owner_user__username="owner").order_by("pk").first()
    any_policy = policies.filter(status=PolicyStatus.IN_FORCE).first()
    return {
        "policy": any_policy.url if any_policy else None,
        "policy_superseded": first_url(policies.filter(status=PolicyStatus.SUPERSEDED)),
        "policy_rescinded": first_url(policies.filter(status=PolicyStatus.RESCINDED)),
        "procedure": procedure.url if procedure else None,
        "lesson": first_url(LessonLearnedPage.objects.live().filter(**public)),
        "section": policy_section.url if policy_section else None,
        "in_force": f"{policy_section.url}in-force/?date=2024-05-01" if policy_section else None,
        "in_force_error": f"{policy_section.url}in-force/?date=1st+of+May" if policy_section else None,
        "topic_index": topic_index.url if topic_index else None,
        "topic": f"{topic_index.url}{topic.slug}/" if topic_index and topic else None,
        "topic_slug": topic.slug if topic else None,
        "feedback_page_id": any_policy.pk if any_policy else None,
        "owned_page_id": owned.pk if owned else None,
        "owned_page": owned.url if owned else None,
        "curriculum": f"/learning/curricula/{curricula.first().slug}/",
        "module": f"/learning/modules/{(check.module if check else Module.objects.first()).slug}/",
        "check": f"/learning/activities/{check.pk}/check/" if check else None,
        "certificate": f"/learning/certificates/{cert.code}/",
        "import_job": f"/admin/training/import/{job.pk}/" if job else None,
    }


def main():
    print("A11Y-TARGETS " + json.dumps(collect()))
