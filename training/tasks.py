"""Celery tasks. Each takes primary keys and is safe to run twice.

Beat (see docs/training.md): ``process_certificate_expiry`` and
``send_due_reminders`` daily, ``sync_assignments`` nightly.
"""

import datetime
import logging

from celery import shared_task
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

logger = logging.getLogger("govkm.training")

REMIND_EVERY = datetime.timedelta(days=7)


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def expand_assignment(assignment_id):
    from .assignments import expand_assignment as expand
    from .models import Assignment

    assignment = Assignment.objects.filter(pk=assignment_id).first()
    return expand(assignment) if assignment else 0


@shared_task(acks_late=True)
def apply_user_assignments(user_id):
    from .assignments import apply_assignments

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    return apply_assignments(user) if user else 0


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def sync_assignments():
    """Safety net: re-expand every active assignment (catches moves between
    units that bypassed the signals, e.g. raw SQL or a restored backup)."""
    from .assignments import expand_assignment as expand
    from .models import Assignment

    return sum(expand(a) for a in Assignment.objects.filter(active=True))


@shared_task(acks_late=True)
def record_publication_evidence(page_id, user_id):
    from knowledge.models import KnowledgePage

    from .evidence import publication_kind, record_knowledge_evidence

    page = KnowledgePage.objects.filter(pk=page_id).first()
    user = get_user_model().objects.filter(pk=user_id).first()
    if page is None or user is None:
        return 0
    kind = publication_kind(page.specific)
    return len(record_knowledge_evidence(user, kind, page)) if kind else 0


@shared_task(acks_late=True)
def notify_module_review(review_request_id):
    from . import notify
    from .models import ModuleReviewRequest

    request = ModuleReviewRequest.objects.select_related("module", "page").filter(pk=review_request_id).first()
    return notify.module_review_requested(request) if request else 0


@shared_task(acks_late=True)
def notify_refresher(enrolment_id):
    from . import notify
    from .models import Enrolment

    enrolment = Enrolment.objects.select_related("user", "module").filter(pk=enrolment_id).first()
    return notify.refresher_assigned(enrolment) if enrolment else 0


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def process_certificate_expiry():
    from .certificates import process_expiry

    created = process_expiry()
    logger.info("training: %d recertification enrolments created", len(created))
    return len(created)


@shared_task(acks_late=True, time_limit=1800, soft_time_limit=1700)
def send_due_reminders():
    """Remind learners of learning due within 14 days or overdue, at most once a week each."""
    from . import notify
    from .learning import DUE_SOON_DAYS
    from .models import Enrolment

    now, today = timezone.now(), timezone.localdate()
    pending = Enrolment.objects.filter(
        completed_at__isnull=True, due_date__isnull=False,
        due_date__lte=today + datetime.timedelta(days=DUE_SOON_DAYS),
    ).filter(Q(reminded_at__isnull=True) | Q(reminded_at__lt=now - REMIND_EVERY)).select_related(
        "user", "curriculum", "module"
    )
    sent = 0
    for enrolment in pending.iterator(chunk_size=500):
        notify.learning_due(enrolment, overdue=enrolment.due_date < today)
        Enrolment.objects.filter(pk=enrolment.pk).update(reminded_at=now)
        sent += 1
    return sent


@shared_task(acks_late=True, time_limit=3600, soft_time_limit=3500)
def run_import_job(job_id):
    from .importer import run_job

    return run_job(job_id)


@shared_task(acks_late=True)
def record_review_evidence(page_id, user_id):
    """An on-time review of ``page_id`` by ``user_id`` as evidence of competence."""
    from knowledge.models import KnowledgePage

    from .evidence import record_knowledge_evidence

    page = KnowledgePage.objects.filter(pk=page_id).first()
    user = get_user_model().objects.filter(pk=user_id).first()
    if page is None or user is None:
        return 0
    return len(record_knowledge_evidence(user, "review_on_time", page))
