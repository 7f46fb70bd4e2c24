"""Atom feeds of guidance changes (well-formed, required elements, nothing
private), the editor's follower count and the delivery report."""

import defusedxml.ElementTree as ET
import pytest

from knowledge.models import Delivery, FeedToken
from knowledge.subscriptions import follow
from tests import factories as f

from .conftest import publish_change

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    def run(page, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return publish_change(page, **kwargs)

    return run


def parse_atom(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)  # well-formed, or this raises
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{name}") is not None, name
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        for name in ("id", "title", "updated", "link"):
            assert entry.find(f"{ATOM}{name}") is not None, name
    return [(e.find(f"{ATOM}title").text, (e.find(f"{ATOM}summary").text if e.find(f"{ATOM}summary") is not None
             else "")) for e in entries]


def test_topic_unit_and_search_feeds_list_public_changes_only(client, publish):
    topic, unit = f.topic("hr"), f.unit("people")
    public = f.policy("Annual leave", topics=[topic], unit_=unit)
    secret = f.policy("Vetting levels", topics=[topic], unit_=unit, audience="restricted")
    internal = f.policy("Internal leave rules", topics=[topic], unit_=unit, audience="internal")
    publish(public, summary="Leave rises to 28 days.")
    publish(secret, summary="Vetting level SC for leave approvers.")
    publish(internal, summary="Internal leave detail.")
    for url in ("/follow/feeds/topic/hr/", "/follow/feeds/unit/people/", "/follow/feeds/search/?q=leave"):
        entries = parse_atom(client.get(url))
        text = " ".join(f"{t} {s}" for t, s in entries)
        assert "Changed: Annual leave" in text and "Leave rises to 28 days." in text, url
        assert "Vetting" not in text and "Internal leave" not in text, url
    assert client.get("/follow/feeds/topic/no-such-topic/").status_code == 404


def test_personal_feed_by_secret_token_which_can_be_revoked(client, publish):
    page = f.policy("Internal overtime", audience="internal")
    user = f.user("reader")
    follow.follow(user, "page", page.pk)
    publish(page, summary="Overtime at 2x.")
    token = FeedToken.objects.create(user=user)
    entries = parse_atom(client.get(f"/follow/feeds/me/{token.secret}/"))  # a feed reader: no session
    assert [t for t, _ in entries] == ["Changed: Internal overtime"]
    assert client.get("/follow/feeds/me/not-the-secret/").status_code == 404
    client.force_login(user)
    client.post("/follow/", {"action": "new_feed_token"})
    client.logout()
    assert client.get(f"/follow/feeds/me/{token.secret}/").status_code == 404
    new = FeedToken.objects.get(user=user)
    assert client.get(f"/follow/feeds/me/{new.secret}/").status_code == 200


def test_personal_feed_drops_what_its_owner_may_no_longer_see(client, publish):
    page = f.policy("Restricted guidance", audience="restricted")
    user = f.user("owner-reader", "content_owner")
    follow.follow(user, "page", page.pk)
    publish(page, summary="Restricted change.")
    token = FeedToken.objects.create(user=user)
    assert len(parse_atom(client.get(f"/follow/feeds/me/{token.secret}/"))) == 1
    user.groups.clear()
    assert parse_atom(client.get(f"/follow/feeds/me/{token.secret}/")) == []


def test_editor_sees_how_many_follow_before_publishing(client):
    topic = f.topic("finance")
    admin = f.user("admin", "administrator")
    page = f.policy("Budgets", topics=[topic])
    follow.follow(f.user("one"), "page", page.pk)
    follow.follow(f.user("two"), "topic", topic.slug)
    follow.follow(f.user("three"), "page", page.pk)
    paused, _ = follow.follow(f.user("four"), "page", page.pk)
    paused.paused = True
    paused.save()
    client.force_login(admin)
    html = client.get(f"/admin/pages/{page.pk}/edit/").content.decode()
    assert "<strong>3 people follow</strong> this page" in html


def test_delivery_report_for_administrators_only(client, publish):
    page = f.policy("Budgets")
    follow.follow(f.user("one"), "page", page.pk)
    publish(page, summary="New budget rules.")
    assert Delivery.objects.filter(status="sent").count() == 1
    client.force_login(f.user("civil", "civil_servant"))
    assert client.get("/admin/reports/deliveries/").status_code in (302, 403)
    client.force_login(f.user("admin", "administrator"))
    response = client.get("/admin/reports/deliveries/")
    html = response.content.decode()
    assert response.status_code == 200 and "<svg" in html and "Deliveries per day" in html
    assert '<tfoot><tr><th scope="row">Total</th><td>1</td>' in html
