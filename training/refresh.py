"""When material changes: module owners review, past learners get a refresher."""

import datetime
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from .models import Enrolment, EnrolmentKind, Module, ModuleCompletion, ModuleReviewRequest

REFRESHER_DAYS = 30


@dataclass
class RefreshResult:
    review_requests: list = field(default_factory=list)
    refreshers: list = field(default_factory=list)


@transaction.atomic
def on_material_change(page, summary, changed_at=None):
    """``page`` changed materially on ``changed_at`` (``summary`` says how).

    Every module with an activity using the page is flagged for review and
    its owners are e-mailed; every learner who completed such a module
    before the change gets a refresher enrolment (due in 30 days) about what
    changed. Calling it again for the same change does nothing more.
    """
    changed_at = changed_at or timezone.now()
    if isinstance(changed_at, datetime.date) and not isinstance(changed_at, datetime.datetime):
        changed_at = timezone.make_aware(datetime.datetime.combine(changed_at, datetime.time()))
    summary = (summary or "").strip() or "The page was updated."
    result = RefreshResult()
    modules = Module.objects.filter(activities__page_id=page.pk).distinct()
    due = timezone.localdate() + datetime.timedelta(days=REFRESHER_DAYS)
    for module in modules:
        request, created = ModuleReviewRequest.objects.get_or_create(
            module=module, page_id=page.pk, changed_at=changed_at, defaults={"summary": summary}
        )
        if not created:
            continue
        result.review_requests.append(request)
        if not module.needs_review:
            module.needs_review = True
            module.save(update_fields=["needs_review"])
        learners = (
            ModuleCompletion.objects.filter(module=module, completed_at__lt=changed_at)
            .values_list("user_id", flat=True).distinct()
        )
        for user_id in learners:
            enrolment, made = Enrolment.objects.get_or_create(
                user_id=user_id, module=module, kind=EnrolmentKind.REFRESHER,
                refresher_page_id=page.pk, refresher_changed_at=changed_at,
                defaults={"refresher_summary": summary, "due_date": due},
            )
            if made:
                result.refreshers.append(enrolment)
    _notify_on_commit(result)
    return result


def _notify_on_commit(result):
    from .tasks import notify_module_review, notify_refresher

    for request in result.review_requests:
        transaction.on_commit(lambda pk=request.pk: notify_module_review.delay(pk))
    for enrolment in result.refreshers:
        transaction.on_commit(lambda pk=enrolment.pk: notify_refresher.delay(pk))


@transaction.atomic
def resolve_review(module, user):
    """An owner has reviewed the module: clear the flag and close requests."""
    now = timezone.now()
    ModuleReviewRequest.objects.filter(module=module, resolved_at__isnull=True).update(resolved_at=now, resolved_by=user)
    module.needs_review = False
    module.save(update_fields=["needs_review"])
