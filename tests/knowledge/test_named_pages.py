"""Issue 21, finding 3: a page names another page (its successor, the policy
it supersedes, a version in its chain, a citation, a lesson's amendment
target) only when the visitor may view that page. Before the fix the
supersession callouts named a restricted policy to anonymous visitors."""

import pytest
from django.test import Client

from tests import factories as f

pytestmark = pytest.mark.django_db

SECRET = "Covert sources handling policy"


def _body(client, page):
    response = client.get(page.url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def reader():
    c = Client()
    c.force_login(f.user("named-reader", "content_owner"))  # a content owner is cleared for restricted pages
    return c


def test_a_restricted_successor_is_not_named_on_the_public_page(client, reader):
    public = f.policy("Informant payments policy 2019", status="superseded")
    restricted = f.policy(SECRET, audience="restricted", supersedes=public)
    anonymous = _body(client, public)
    assert "This policy has been superseded." in anonymous
    assert SECRET not in anonymous and restricted.url not in anonymous
    assert "The current policy is" not in anonymous
    cleared = _body(reader, public)
    assert f'The current policy is <a href="{restricted.url}">{SECRET}</a>' in cleared


def test_a_restricted_predecessor_is_not_named_on_the_public_page(client, reader):
    restricted = f.policy(SECRET, audience="restricted", status="superseded")
    public = f.policy("Informant payments policy 2025", supersedes=restricted)
    anonymous = _body(client, public)
    assert SECRET not in anonymous and restricted.url not in anonymous
    assert "<dt>Supersedes</dt>" not in anonymous
    cleared = _body(reader, public)
    assert "<dt>Supersedes</dt>" in cleared and SECRET in cleared


def test_the_visible_successor_is_named_when_a_newer_one_is_restricted(client):
    old = f.policy("Travel policy 2015", status="superseded")
    public_next = f.policy("Travel policy 2020", supersedes=old)
    f.policy(SECRET, audience="restricted", supersedes=old)
    body = _body(client, old)
    assert f'The current policy is <a href="{public_next.url}">Travel policy 2020</a>' in body
    assert SECRET not in body


def test_citations_and_amendment_targets_follow_the_same_rule(client, reader):
    restricted = f.policy(SECRET, audience="restricted")
    citing = f.policy("Public guidance citing it", cites=[restricted])
    lesson = f.lesson("What the audit found", cites=[restricted], publish=False)
    lesson.amendment_target, lesson.proposed_amendment = restricted, "Shorten the retention."
    lesson.save_revision().publish()
    for page in (citing, lesson):
        anonymous = _body(client, page)
        assert SECRET not in anonymous and restricted.url not in anonymous
        assert SECRET in _body(reader, page)
