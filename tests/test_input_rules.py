"""Issue 21, finding 5: a NUL byte anywhere in a request is refused with a
400 naming where it was, before any view runs. On PostgreSQL these URLs
answered 500 (DataError: text fields cannot contain NUL); CI runs this file
on PostgreSQL (.ci/run's first leg) and on SQLite."""

import pytest
from django.test import Client

from tests import factories as f

pytestmark = pytest.mark.django_db


def _signed_in(role):
    c = Client()
    c.force_login(f.user(f"nul-{role}", role))
    return c


@pytest.fixture
def page():
    return f.policy("NUL target")


def _assert_refused(response, field=None):
    assert response.status_code == 400, response.content[:300]
    body = response.content.decode()
    assert "NUL character" in body
    if field:
        assert field in body


def test_feedback_form_with_a_nul_in_its_reason_is_refused(client, page):
    response = client.post(f"/feedback/{page.pk}/", {"helpful": "no", "reason": "nul\x00byte"})
    _assert_refused(response, "reason")
    from search.models import PageFeedback

    assert not PageFeedback.objects.exists()


def test_section_topic_filter(client, page):
    _assert_refused(client.get("/policies/?topic=%00"), "topic")


@pytest.mark.parametrize("param", ["unit", "curriculum", "framework", "job_profile"])
def test_hr_reports(param):
    _assert_refused(_signed_in("hr").get(f"/learning/reports/?{param}=%00"), param)


def test_gap_report_api_answers_json():
    response = _signed_in("hr").get("/learning/api/gap-report/?unit=%00")
    _assert_refused(response)
    assert response.json()["error"]["field"] == "unit"


def test_learner_page_with_a_nul_in_the_path():
    _assert_refused(_signed_in("hr").get("/learning/people/%00/"), "path")


def test_accountability_report():
    admin = Client()
    admin.force_login(f.user("nul-admin", "administrator"))
    _assert_refused(admin.get("/admin/reports/accountability/?user=%00"), "user")


def test_search_page_and_api(client):
    _assert_refused(client.get("/search/?q=a%00b"), "q")
    assert client.get("/api/search/?q=leave&topic=%00").json()["error"]["field"] == "topic"


def test_a_nul_in_a_parameter_name_is_refused_too(client, page):
    _assert_refused(client.get("/policies/?to%00pic=x"))


def test_ordinary_input_still_passes(client, page):
    assert client.get("/policies/?topic=procurement").status_code == 200
    assert client.get("/search/?q=caf%C3%A9%20%25").status_code == 200
