"""Material changes: module owners asked to review, past learners refreshed."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from tests import factories as kf
from tests.conftest import Today
from training import learning
from training.models import Enrolment, EnrolmentKind, ModuleCompletion, ModuleReviewRequest
from training.refresh import on_material_change, resolve_review

from . import factories as tf

pytestmark = pytest.mark.django_db


def test_material_change_flags_module_notifies_owners_and_refreshes_past_learners(course, django_capture_on_commit_callbacks):
    owner = tf.staff("mod-owner", role="content_owner")
    course["first"].owners.set([owner])
    course["first"].save()
    before, after, never = tf.staff("before"), tf.staff("after"), tf.staff("never")
    learning.open_activity(before, course["read_a"])
    learning.confirm_activity(before, course["read_a"])
    learning.submit_check(before, course["check"], tf.answers(course["check"]))
    changed_at = timezone.now()
    ModuleCompletion.objects.create(user=after, module=course["first"], completed_at=changed_at + datetime.timedelta(hours=1))
    mail.outbox.clear()
    today = Today()
    with django_capture_on_commit_callbacks(execute=True):
        result = on_material_change(course["page_a"], "Retention for contracts is now 12 years.", changed_at)
    course["first"].refresh_from_db()
    assert course["first"].needs_review
    assert not course["second"].needs_review  # does not use the page
    assert [r.module for r in result.review_requests] == [course["first"]]
    (refresher,) = result.refreshers
    assert refresher.user == before and refresher.kind == EnrolmentKind.REFRESHER
    assert refresher.refresher_summary == "Retention for contracts is now 12 years."
    assert refresher.due_date in today.plus(days=30)
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == ["Please review the module: Keeping records", "Refresher: Keeping records"]
    assert [m.to for m in mail.outbox if "review" in m.subject] == [[owner.email]]
    assert not Enrolment.objects.filter(user__in=[after, never], kind=EnrolmentKind.REFRESHER).exists()

    again = on_material_change(course["page_a"], "Retention for contracts is now 12 years.", changed_at)
    assert again.review_requests == [] and again.refreshers == []
    assert ModuleReviewRequest.objects.count() == 1


def test_refresher_is_completed_after_opening_the_changed_page(course):
    user = tf.staff("r")
    ModuleCompletion.objects.create(user=user, module=course["first"],
                                    completed_at=timezone.now() - datetime.timedelta(days=3))
    (enrolment,) = on_material_change(course["page_a"], "New step 3.", timezone.now()).refreshers
    with pytest.raises(learning.LearningError, match="Open the changed page first"):
        learning.confirm_refresher(user, enrolment)
    learning.open_refresher(user, enrolment)
    learning.confirm_refresher(user, enrolment)
    enrolment.refresh_from_db()
    assert enrolment.completed_at is not None
    assert learning.enrolment_progress(user, [enrolment])[enrolment.pk].percent == 100


def test_a_date_is_accepted_and_unrelated_pages_change_nothing(course):
    other = kf.policy("Unrelated")
    assert on_material_change(other, "", datetime.date(2025, 5, 1)).review_requests == []
    result = on_material_change(course["page_b"], "", datetime.date(2025, 5, 1))
    assert result.review_requests[0].summary == "The page was updated."


def test_owner_resolves_the_review(course):
    owner = tf.staff("own")
    on_material_change(course["page_a"], "Changed", timezone.now())
    resolve_review(course["first"], owner)
    course["first"].refresh_from_db()
    assert not course["first"].needs_review
    assert ModuleReviewRequest.objects.get().resolved_by == owner
