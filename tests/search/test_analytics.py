"""Search analytics: logging, masking, unanswered detection and clustering,
content requests, feedback, accountability, retention."""

import datetime
import io
import uuid

import pytest
from django.core.management import call_command
from django.utils import timezone

from search import analytics
from search.models import ContentRequest, Exposure, PageFeedback, QueryLog, ResultClick
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def indexed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        page = f.policy("Lost equipment policy", body="Report a lost laptop to the service desk within one day.")
        secret = f.policy("Covert operations manual", body="Laptop handling for covert teams.", audience="restricted")
    return page, secret


@pytest.mark.parametrize(
    "raw,masked",
    [
        ("contact jane.doe@example.gov about leave", "contact [email] about leave"),
        ("call +44 20 7946 0958 re contract", "call [phone] re contract"),
        ("case 0612 345 678", "case [phone]"),
        ("passport 123456789 renewal", "passport [number] renewal"),
        ("NI number AB123456C", "NI number [number]"),
        ("IBAN GB29 NWBK 6016 1331 9268 19 refund", "IBAN [account] refund"),
        ("form PR-7 and POL-PRC-004 in 2024", "form PR-7 and POL-PRC-004 in 2024"),
    ],
)
def test_masking(raw, masked):
    assert analytics.mask(raw) == masked


def test_searches_are_logged_masked_without_identity(client, indexed):
    civil = f.user("logme", "civil_servant")
    client.force_login(civil)
    client.get("/search/", {"q": "lost laptop jane@example.gov"})
    log = QueryLog.objects.get()
    assert log.query == "lost laptop [email]"
    assert log.mode == "hybrid" and log.result_count >= 1
    assert log.best_similarity is not None
    assert "logme" not in str(QueryLog.objects.values().get())
    assert len(log.session_key) == 32  # a keyed hash, not the session id


def test_reformulation_and_click_through(client, indexed):
    page, _ = indexed
    client.get("/search/", {"q": "missing computer"})
    html = client.get("/search/", {"q": "lost laptop"}).content.decode()
    first, second = QueryLog.objects.order_by("created_at")
    assert second.reformulation_of_id == first.id
    link = f"/search/go/{second.id}/1/?page={page.pk}"
    assert link in html
    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == page.url
    second.refresh_from_db()
    assert second.clicked and ResultClick.objects.get().position == 1


def test_click_redirect_is_not_an_open_redirect_nor_a_leak(client, indexed):
    _, secret = indexed
    log_id = uuid.uuid4()
    assert client.get(f"/search/go/{log_id}/1/?page={secret.pk}").status_code == 404
    assert client.get(f"/search/go/{log_id}/1/?page=https://evil.example").status_code == 404
    assert client.get(f"/search/go/{log_id}/1/?page=999999").status_code == 404


def make_log(query, *, count=3, similarity=0.8, clicked=False, minutes_ago=60, session="s1"):
    return QueryLog.objects.create(
        created_at=timezone.now() - datetime.timedelta(minutes=minutes_ago), query=query, mode="hybrid",
        result_count=count, best_similarity=similarity, clicked=clicked, session_key=session,
    )


def test_unanswered_detection_at_the_threshold(settings):
    threshold = analytics.conf("UNANSWERED_SIMILARITY")
    cases = {
        "nothing": make_log("a", count=0, similarity=None, clicked=True),
        "weak": make_log("b", similarity=threshold - 0.001, clicked=True),
        "at threshold": make_log("c", similarity=threshold, clicked=True),
        "not clicked, settled": make_log("d", similarity=0.9, clicked=False, minutes_ago=31),
        "not clicked, too recent": make_log("e", similarity=0.9, clicked=False, minutes_ago=5),
        "answered": make_log("f", similarity=0.9, clicked=True),
    }
    unanswered = set(QueryLog.objects.filter(analytics.unanswered_q()).values_list("query", flat=True))
    assert unanswered == {"a", "b", "d"}
    assert analytics.unanswered_reason(cases["nothing"]) == "no results"
    assert analytics.unanswered_reason(cases["weak"]) == "weak match"
    assert analytics.unanswered_reason(cases["not clicked, settled"]) == "no clicks"
    assert analytics.unanswered_reason(cases["at threshold"]) == ""


@pytest.mark.slow
def test_near_duplicate_queries_cluster_by_meaning(real_embedder):
    groups = analytics.cluster_queries([
        ("how do i claim overtime pay", 5),
        ("claiming payment for overtime hours", 3),
        ("overtime compensation claim", 2),
        ("parking permit for the head office", 4),
        ("where do I get a car park pass at headquarters", 1),
        ("lost laptop on the train", 2),
        ("left my work laptop on the bus", 1),
        ("annual leave carry over", 1),
    ])
    sets = [set(g["queries"]) for g in groups]
    assert {"how do i claim overtime pay", "claiming payment for overtime hours", "overtime compensation claim"} in sets
    assert any({"parking permit for the head office", "where do I get a car park pass at headquarters"} <= s for s in sets)
    assert {"lost laptop on the train", "left my work laptop on the bus"} in sets
    assert {"annual leave carry over"} in sets
    assert groups[0]["count"] == 10


def test_content_request_lifecycle(client, django_capture_on_commit_callbacks):
    owner = f.user("req-owner", "content_owner")
    unit = f.unit("records", "Records Office")
    unit.content_lead = owner
    unit.save()
    for i in range(3):
        make_log("retention of emails", count=0, similarity=None, session=f"s{i}")
    client.force_login(owner)
    html = client.get("/admin/reports/unanswered/").content.decode()
    assert "retention of emails" in html and "<svg" in html
    response = client.post("/admin/reports/unanswered/", {
        "title": "Email retention guidance", "unit": unit.pk,
        "due_date": (timezone.localdate() + datetime.timedelta(days=14)).isoformat(),
        "queries": "retention of emails", "count": 3,
    })
    assert response.status_code == 302
    request = ContentRequest.objects.get()
    assert request.status == "open" and request.example_queries == ["retention of emails"]
    assert "Email retention guidance" in client.get("/admin/").content.decode()  # the unit's dashboard

    with django_capture_on_commit_callbacks(execute=True):
        answer = f.policy("Email retention policy", publish=False)
    request.answer_page = answer
    request.save()
    assert ContentRequest.objects.get().status == "open"  # not live yet
    answer.save_revision().publish()
    request.refresh_from_db()
    assert request.status == "answered" and request.closed_at is not None


def test_content_request_form_rejects_past_dates(client):
    owner = f.user("req-owner2", "content_owner")
    client.force_login(owner)
    client.post("/admin/reports/unanswered/", {"title": "x", "unit": f.unit().pk, "due_date": "2001-01-01"})
    assert not ContentRequest.objects.exists()


def test_unanswered_report_is_for_content_owners(client):
    client.force_login(f.user("cs-r", "civil_servant"))
    assert client.get("/admin/reports/unanswered/").status_code in (302, 403)
    client.force_login(f.user("ed-r", "editor"))
    response = client.get("/admin/reports/unanswered/")
    # Wagtail's convention for a permission denied inside the admin: back to the dashboard
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_feedback_is_recorded_and_masked(client, indexed):
    page, secret = indexed
    html = client.get(page.url).content.decode()
    assert "Did this answer your question?" in html and "csrfmiddlewaretoken" in html
    response = client.post(f"/feedback/{page.pk}/", {"helpful": "no", "reason": "Call me on 0612345678"})
    assert response.status_code == 200
    fb = PageFeedback.objects.get()
    assert fb.helpful is False and fb.reason == "Call me on [number]"
    assert client.post(f"/feedback/{page.pk}/", {"helpful": "maybe"}).status_code == 400
    assert client.post(f"/feedback/{secret.pk}/", {"helpful": "yes"}).status_code == 404


def test_feedback_requires_csrf(indexed):
    from django.test import Client

    page, _ = indexed
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/feedback/{page.pk}/", {"helpful": "yes"}).status_code == 403
    assert not PageFeedback.objects.exists()


def test_accountability_log_off_by_default_and_auditors_only(client, settings, indexed):
    page, _ = indexed
    civil = f.user("acc-civil", "civil_servant")
    client.force_login(civil)
    client.get("/search/", {"q": "lost laptop"})
    client.get(page.url)
    assert not Exposure.objects.exists()

    settings.KM_ANALYTICS = {**settings.KM_ANALYTICS, "ACCOUNTABILITY": True}
    client.get("/search/", {"q": "lost laptop"})
    client.get(page.url)
    kinds = set(Exposure.objects.filter(user=civil, page_id=page.pk).values_list("kind", flat=True))
    assert kinds - {"answer"} == {"shown", "opened"}  # and "answer" when the answer card came from it
    for shown in Exposure.objects.filter(kind="answer"):
        assert shown.revision_id == page.live_revision_id
    assert Exposure.objects.filter(kind="opened").get().revision_id == page.live_revision_id
    client.logout()
    client.get(page.url)  # anonymous: never recorded
    assert Exposure.objects.filter(kind="opened").count() == 1

    for role, allowed in (("civil_servant", False), ("content_owner", False), ("administrator", True)):
        client.force_login(f.user(f"acc-{role}", role))
        response = client.get("/admin/reports/accountability/", {"user": "acc-civil", "format": "csv"})
        assert (response.status_code == 200) == allowed, role
        assert (b"acc-civil" in response.content) == allowed, role
    auditor = f.user("auditor1", "civil_servant")
    from django.contrib.auth.models import Group

    auditor.groups.add(Group.objects.get(name="Auditors"))
    client.force_login(auditor)
    response = client.get("/admin/reports/accountability/", {"user": "acc-civil", "format": "csv"})
    assert response.status_code == 200, response.get("Location")
    csv_text = response.content.decode()
    assert "acc-civil" in csv_text and "Lost equipment policy" in csv_text and "opened" in csv_text


def test_retention_pruning(settings):
    settings.KM_ANALYTICS = {**settings.KM_ANALYTICS, "RETENTION_DAYS": 30, "ACCOUNTABILITY_RETENTION_DAYS": 60}
    old = make_log("old", minutes_ago=31 * 24 * 60)
    ResultClick.objects.create(query_log=old, page_id=1, position=1)
    make_log("recent", minutes_ago=10)
    user = f.user("ret", "civil_servant")
    Exposure.objects.create(user=user, page_id=1, kind="shown", created_at=timezone.now() - datetime.timedelta(days=61))
    Exposure.objects.create(user=user, page_id=1, kind="shown", created_at=timezone.now() - datetime.timedelta(days=59))
    out = io.StringIO()
    call_command("search_prune_logs", stdout=out)
    assert list(QueryLog.objects.values_list("query", flat=True)) == ["recent"]
    assert not ResultClick.objects.exists() and Exposure.objects.count() == 1
    assert "Deleted 1 query log entries" in out.getvalue()


def test_rising_needs_several_sessions():
    for i in range(4):
        make_log("annual leave", minutes_ago=60 * 24 * 2, session=f"p{i}")
    for _ in range(6):
        make_log("my own name search", minutes_ago=60, session="lonely")
    rising = [q for q, _n, _r in analytics.rising_queries()]
    assert rising == ["annual leave"]


def test_async_writer_writes_off_the_request_path(settings, transactional_db, django_db_serialized_rollback):
    settings.KM_ANALYTICS = {**settings.KM_ANALYTICS, "ASYNC": True}
    log_id = uuid.uuid4()
    analytics.writer.submit(("query", {"id": log_id, "created_at": timezone.now(), "query": "q", "mode": "hybrid",
                                       "filters": {}, "result_count": 1, "best_similarity": 0.5, "result_pages": [1],
                                       "unit_id": None, "session_key": "", "reformulation_of_id": None}))
    analytics.writer.submit(("click", {"query_log_id": log_id, "page_id": 1, "position": 1}))
    analytics.flush()
    assert QueryLog.objects.get(pk=log_id).clicked


def test_a_reformulation_of_a_vanished_search_does_not_lose_the_log():
    ghost = uuid.uuid4()  # e.g. pruned, or dropped from a full queue
    analytics.writer.submit(("query", {"id": uuid.uuid4(), "created_at": timezone.now(), "query": "second try",
                                       "mode": "hybrid", "filters": {}, "result_count": 1, "best_similarity": 0.5,
                                       "result_pages": [], "unit_id": None, "session_key": "s",
                                       "reformulation_of_id": ghost}))
    log = QueryLog.objects.get(query="second try")
    assert log.reformulation_of_id is None
