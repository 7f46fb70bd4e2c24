"""Learner pages: My learning, catalogue and self-enrolment, modules, checks,
refreshers, certificates and the "learn this" tag."""

import datetime

import pytest
from django.template import Context, Template
from django.test import Client
from django.utils import timezone

from training.models import ActivityProgress, AssigneeKind, CheckAttempt, Enrolment, ModuleCompletion
from training.refresh import on_material_change

from . import factories as tf

pytestmark = pytest.mark.django_db


def test_my_learning_groups_by_status_with_progress_bars(client, units, course):
    user = tf.staff("me", unit=units["team"])
    tf.assign(course["curriculum"], AssigneeKind.UNIT, units["team"],
              due_date=timezone.localdate() - datetime.timedelta(days=1))
    tf.assign(course["first"], AssigneeKind.USER, user, due_date=timezone.localdate() + datetime.timedelta(days=5))
    client.force_login(user)
    html = client.get("/learning/").content.decode()
    assert 'id="h-overdue"' in html and 'id="h-due_soon"' in html
    assert 'role="progressbar"' in html and "0 of 3 done" in html and "0 of 2 done" in html
    Enrolment.objects.filter(user=user).update(completed_at=timezone.now())
    html = client.get("/learning/").content.decode()
    assert 'id="h-completed"' in html and 'id="h-overdue"' not in html


def test_catalogue_self_enrolment_needs_csrf(units, course):
    user = tf.staff("csrf")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/learning/catalogue/")
    assert b"Enrol" in page.content and b"csrfmiddlewaretoken" in page.content
    assert client.post(f"/learning/curricula/{course['curriculum'].slug}/enrol/").status_code == 403
    token = page.cookies["csrftoken"].value
    response = client.post(f"/learning/curricula/{course['curriculum'].slug}/enrol/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302 and Enrolment.objects.filter(user=user, kind="self").exists()


def test_closed_curriculum_refuses_self_enrolment(client, course):
    closed = tf.curriculum("Closed")
    client.force_login(tf.staff("shut"))
    response = client.post(f"/learning/curricula/{closed.slug}/enrol/", follow=True)
    assert "not open for self-enrolment" in response.content.decode()


def test_read_activity_through_the_pages(client, course):
    user = tf.staff("viewer")
    client.force_login(user)
    html = client.get(f"/learning/modules/{course['first'].slug}/").content.decode()
    assert "Open “Records policy”" in html and "disabled" in html
    response = client.get(f"/learning/activities/{course['read_a'].pk}/open/")
    assert response.status_code == 302 and response.url == course["page_a"].url
    response = client.post(f"/learning/activities/{course['read_a'].pk}/confirm/")
    assert ActivityProgress.objects.get(user=user, activity=course["read_a"]).status == "completed"
    locked = client.get(f"/learning/modules/{course['second'].slug}/").content.decode()
    assert "Complete these modules first" in locked
    response = client.get(f"/learning/activities/{course['read_b'].pk}/open/", follow=True)
    assert "prerequisite" in response.content.decode()


def test_restricted_page_cannot_be_opened_by_those_who_cannot_read_it(client, fw):
    from tests import factories as kf

    secret = kf.policy("Secret policy", audience="restricted")
    module = tf.module("Restricted reading")
    activity = tf.read_activity(module, secret)
    client.force_login(tf.staff("plain"))
    response = client.get(f"/learning/activities/{activity.pk}/open/", follow=True)
    assert "cannot view the page" in response.content.decode()
    assert not ActivityProgress.objects.exists()
    assert "Secret policy" not in client.get(f"/learning/modules/{module.slug}/").content.decode()


def test_knowledge_check_form(client, course):
    user = tf.staff("quiz")
    client.force_login(user)
    url = f"/learning/activities/{course['check'].pk}/check/"
    assert b'type="radio"' in client.get(url).content
    response = client.post(url, {})
    assert response.status_code == 400 and b"Answer every question" in response.content
    assert not CheckAttempt.objects.exists()
    data = {f"q{qid}": idx for qid, idx in tf.answers(course["check"], right=4).items()}
    response = client.post(url, data)
    assert response.status_code == 200 and b"100%" in response.content and b"passed" in response.content
    assert CheckAttempt.objects.get(user=user).passed


def test_refresher_pages(client, course):
    user = tf.staff("fresh")
    ModuleCompletion.objects.create(user=user, module=course["first"],
                                    completed_at=timezone.now() - datetime.timedelta(days=9))
    (enrolment,) = on_material_change(course["page_a"], "Step 2 now needs a <b>signature</b>.",
                                      timezone.now()).refreshers
    client.force_login(user)
    html = client.get(f"/learning/refreshers/{enrolment.pk}/").content.decode()
    assert "&lt;b&gt;signature&lt;/b&gt;" in html  # escaped
    assert client.post(f"/learning/refreshers/{enrolment.pk}/confirm/").status_code == 302
    enrolment.refresh_from_db()
    assert enrolment.completed_at is None
    assert client.get(f"/learning/refreshers/{enrolment.pk}/open/").url == course["page_a"].url
    client.post(f"/learning/refreshers/{enrolment.pk}/confirm/")
    enrolment.refresh_from_db()
    assert enrolment.completed_at is not None
    client.force_login(tf.staff("other"))
    assert client.get(f"/learning/refreshers/{enrolment.pk}/").status_code == 404


def test_review_queue_for_module_owners(client, course):
    owner = tf.staff("owner-q", role="content_owner")
    course["first"].owners.set([owner])
    course["first"].save()
    on_material_change(course["page_a"], "Changed the retention table.", timezone.now())
    client.force_login(owner)
    html = client.get("/learning/review/").content.decode()
    assert "Keeping records" in html and "Changed the retention table." in html
    client.post(f"/learning/review/{course['first'].slug}/resolve/")
    course["first"].refresh_from_db()
    assert not course["first"].needs_review
    client.force_login(tf.staff("not-owner"))
    assert client.post(f"/learning/review/{course['second'].slug}/resolve/").status_code == 403


def test_learn_this_tag_links_modules_using_or_teaching_the_page(fw, course):
    from training.models import PageCompetence

    PageCompetence.objects.create(page=course["page_b"], competence=fw[1]["C2"])
    html = Template("{% load training_tags %}{% learn_this page %}").render(Context({"page": course["page_b"]}))
    assert "Learn this" in html and f"/learning/modules/{course['second'].slug}/" in html
    assert "Records essentials" in html
    from tests import factories as kf

    untagged = kf.policy("Nothing teaches this")
    assert "Learn this" not in Template("{% load training_tags %}{% learn_this p %}").render(Context({"p": untagged}))


def test_html_and_pdf_certificate(client, course):
    from training.certificates import issue_certificate

    user = tf.staff("holder", first_name="Ada", last_name="Byron")
    cert = issue_certificate(user, course["curriculum"])
    client.force_login(user)
    html = client.get(f"/learning/certificates/{cert.code}/").content.decode()
    assert "Ada Byron" in html and "Records essentials" in html and "valid until" in html
    response = client.get(f"/learning/certificates/{cert.code}/pdf/")
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")


def test_search_results_offer_learn_this_links(client, django_capture_on_commit_callbacks):
    """A search result whose page a module uses links to that module."""
    from tests import factories as kf
    from tests.training import factories as tf
    from training.teaching import modules_teaching_pages

    from .reference import modules_teaching

    with django_capture_on_commit_callbacks(execute=True):
        page = kf.policy("Archive transfer policy", body="Transfer files to the national archive after 20 years.")
        other = kf.policy("Unrelated canteen policy", body="The canteen opens at noon.")
    module = tf.module("Archiving basics", curriculum=tf.curriculum("Records course"))
    tf.read_activity(module, page)
    batched = modules_teaching_pages([page.pk, other.pk], 2)
    assert batched[page.pk] == modules_teaching(page, 2) and module in batched[page.pk]
    assert batched[other.pk] == []
    html = client.get("/search/", {"q": "national archive transfer", "mode": "lexical"}).content.decode()
    assert "Learn this:" in html and "Archiving basics" in html


ARCHIVE_SEARCH = {"q": "national archive transfer", "mode": "lexical"}


@pytest.fixture
def archive_module(client, django_capture_on_commit_callbacks):
    """An indexed archive policy read in the module "Archiving basics", found
    once by ARCHIVE_SEARCH with its "Learn this" link: (page, module)."""
    from tests import factories as kf

    with django_capture_on_commit_callbacks(execute=True):
        page = kf.policy("Archive transfer policy", body="Transfer files to the national archive after 20 years.")
    module = tf.module("Archiving basics")
    tf.read_activity(module, page)
    assert "Archiving basics" in client.get("/search/", ARCHIVE_SEARCH).content.decode()
    return page, module


def test_learn_this_links_on_search_follow_training_changes_at_once(client, archive_module):
    """The links follow a module, an activity or a curriculum the moment it changes."""
    page, module = archive_module
    module.title = "Archiving for beginners"
    module.save()
    html = client.get("/search/", ARCHIVE_SEARCH).content.decode()
    assert "Archiving for beginners" in html and "Archiving basics" not in html
    tf.read_activity(tf.module("Records transfer workshop"), page)
    assert "Records transfer workshop" in client.get("/search/", ARCHIVE_SEARCH).content.decode()


def test_learn_this_memo_is_dropped_when_the_cache_is_emptied(client, archive_module):
    """A change made outside Django (no signal) shows at the next search,
    the cache emptied or not: nothing of the links is remembered."""
    from django.core.cache import cache

    from training.models import Module

    _page, module = archive_module
    Module.objects.filter(pk=module.pk).update(title="Archiving renamed outside Django")  # no signal
    cache.clear()
    assert "Archiving renamed outside Django" in client.get("/search/", ARCHIVE_SEARCH).content.decode()
