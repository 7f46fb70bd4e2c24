"""Following guidance: what triggers a message, who gets it, and what it
says (Django's in-memory mail box; the real SMTP server is in
test_follow_smtp.py)."""

import pytest
from django.core import mail
from django.urls import reverse

from knowledge.models import Delivery, GuidanceChange, Notification, Subscription
from knowledge.subscriptions import follow
from knowledge.subscriptions.delivery import send_due
from knowledge.subscriptions.mail import unsubscribe_token
from tests import factories as f

from .conftest import publish_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    """Publish a change and run what is set off after commit (fan-out and
    the immediate e-mails, in-process)."""

    def run(page, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return publish_change(page, **kwargs)

    return run


def reader(name="reader", role="civil_servant"):
    return f.user(name, role)


def test_material_change_sends_exactly_one_email_with_note_links_and_headers(publish):
    page = f.policy("Gifts and hospitality")
    alice = reader("alice")
    follow.follow(alice, "page", page.pk)
    mail.outbox.clear()
    publish(page, summary="The gifts threshold is now £25, down from £50.")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.gov"]
    assert message.subject == "Changed: Gifts and hospitality"
    assert "The gifts threshold is now £25, down from £50." in message.body
    change = GuidanceChange.objects.get(page_id=page.pk, kind="material")
    assert reverse("km_what_changed", args=[change.pk]) in message.body
    assert page.full_url in message.body
    token = unsubscribe_token(alice.pk)
    assert message.extra_headers["List-Unsubscribe"] == f"<http://127.0.0.1:8000/follow/unsubscribe/{token}/>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and '<html lang="en">' in html and "£25" in html
    assert Notification.objects.filter(recipient=alice, kind="change").count() == 1  # in-app too
    # publishing the same revision's events again tells nobody twice
    send_due("immediate")
    assert len(mail.outbox) == 1
    assert Delivery.objects.get(user=alice).status == "sent"


def test_minor_change_sends_nothing(publish):
    page = f.policy("Travel")
    follow.follow(reader(), "page", page.pk)
    mail.outbox.clear()
    publish(page, material=False, title="Travel (typo fixed)")
    assert mail.outbox == []
    assert not GuidanceChange.objects.filter(page_id=page.pk).exclude(kind="new").exists()


def test_new_page_in_a_followed_topic_and_unit_tells_once(publish, django_capture_on_commit_callbacks):
    topic, unit = f.topic("procurement"), f.unit("finance")
    bob = reader("bob")
    follow.follow(bob, "topic", topic.slug)
    follow.follow(bob, "unit", unit.slug)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        f.policy("Buying laptops", topics=[topic], unit_=unit)
    assert len(mail.outbox) == 1 and mail.outbox[0].subject == "New: Buying laptops"


def test_html_part_escapes_titles_and_notes(publish):
    page = f.policy("Rules <script>alert(1)</script>")
    follow.follow(reader(), "page", page.pk)
    mail.outbox.clear()
    publish(page, summary="Use <b>form</b> X & Y.")
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "Use &lt;b&gt;form&lt;/b&gt; X &amp; Y." in html


def test_daily_digest_batches_changes_into_one_email(publish):
    one, two = f.policy("Leave"), f.policy("Expenses")
    carol = reader("carol")
    follow.follow(carol, "page", one.pk, frequency="daily")
    follow.follow(carol, "page", two.pk, frequency="daily")
    mail.outbox.clear()
    publish(one, summary="Leave now accrues monthly.")
    publish(two, summary="Claims within 30 days.")
    assert mail.outbox == []  # nothing straight away
    assert send_due("daily")["sent"] == 2  # two delivery rows ...
    assert len(mail.outbox) == 1  # ... one e-mail
    body = mail.outbox[0].body
    assert "Leave now accrues monthly." in body and "Claims within 30 days." in body
    assert mail.outbox[0].subject == "Daily digest: 2 changes to guidance you follow"
    assert send_due("daily") == {}
    assert len(mail.outbox) == 1


def test_permission_lost_means_nothing_not_even_the_title(publish):
    page = f.policy("Restricted vetting rules", audience="restricted")
    cleared = reader("cleared", "content_owner")  # content owners may read restricted pages
    follow.follow(cleared, "page", page.pk)
    cleared.groups.clear()  # moved out of the cleared groups
    mail.outbox.clear()
    publish(page, summary="New vetting levels.")
    assert mail.outbox == []
    assert not Notification.objects.filter(recipient=cleared, kind="change").exists()
    assert Delivery.objects.get(user=cleared).status == "withheld"


def test_supersession_tells_followers_of_the_old_policy_with_its_successor(django_capture_on_commit_callbacks):
    old = f.policy("Remote working 2020")
    dave = reader("dave")
    follow.follow(dave, "page", old.pk)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        new = f.policy("Hybrid working 2026", supersedes=old)
    assert [m.subject for m in mail.outbox] == ["Superseded: Remote working 2020"]
    assert "Replaced by: Hybrid working 2026" in mail.outbox[0].body and new.full_url in mail.outbox[0].body


def test_unpublication_and_propagated_change(publish, django_capture_on_commit_callbacks):
    base = f.policy("Data retention")
    citing = f.procedure("Archive files", implements=[base])
    erin = reader("erin")
    follow.follow(erin, "page", citing.pk)
    mail.outbox.clear()
    publish(base, summary="Keep records for seven years.")
    assert [m.subject for m in mail.outbox] == ["May be affected: Archive files"]
    assert "May be affected by a change to Data retention: Keep records for seven years." in mail.outbox[0].body
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        citing.unpublish()
    assert [m.subject for m in mail.outbox] == ["Withdrawn: Archive files"]


def test_unsubscribe_link_works_without_login_and_cannot_be_forged(client, publish):
    page = f.policy("Travel")
    frank, grace = reader("frank"), reader("grace")
    follow.follow(frank, "page", page.pk)
    follow.follow(grace, "page", page.pk)
    forged = unsubscribe_token(frank.pk).replace(f"{frank.pk}:", f"{grace.pk}:")
    assert client.post(f"/follow/unsubscribe/{forged}/", {"List-Unsubscribe": "One-Click"}).status_code == 400
    assert Subscription.objects.filter(user=grace).exists()
    assert client.get(f"/follow/unsubscribe/{unsubscribe_token(frank.pk)}/").status_code == 200  # a form, not an action
    assert Subscription.objects.filter(user=frank).exists()
    response = client.post(f"/follow/unsubscribe/{unsubscribe_token(frank.pk)}/", {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not Subscription.objects.filter(user=frank).exists() and Subscription.objects.filter(user=grace).exists()


def test_what_changed_shows_the_note_and_diff_only_to_viewers(client, publish):
    page = f.policy("Internal overtime rules", body="Overtime is paid at 1.5x.", audience="internal")
    publish(page, summary="Overtime rate changed.", body=[("paragraph", _rich("<p>Overtime is paid at 2x.</p>"))])
    change = GuidanceChange.objects.get(page_id=page.pk, kind="material")
    url = reverse("km_what_changed", args=[change.pk])
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "Overtime" not in anonymous.content.decode()
    client.force_login(reader("henry"))
    html = client.get(url).content.decode()
    assert "Overtime rate changed." in html
    assert "<del><span class=\"visually-hidden\">Removed: </span>Overtime is paid at 1.5x.</del>" in html
    assert "<ins><span class=\"visually-hidden\">Added: </span>Overtime is paid at 2x.</ins>" in html


def _rich(html):
    from wagtail.rich_text import RichText

    return RichText(html)


def test_follow_button_needs_csrf_and_sign_in(client):
    page = f.policy("Travel")
    user = reader("ivy")
    assert client.post("/follow/add/", {"kind": "page", "target": page.pk}).status_code == 302
    assert not Subscription.objects.exists()  # sent to sign in
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.post("/follow/add/", {"kind": "page", "target": page.pk}).status_code == 403
    client.force_login(user)
    client.post("/follow/add/", {"kind": "page", "target": page.pk})
    assert Subscription.objects.get(user=user).page_id == page.pk
    response = client.get(page.url)
    assert "Following" in response.content.decode()
    listing = client.get("/follow/").content.decode()
    assert "Page: Travel" in listing
    sub = Subscription.objects.get(user=user)
    client.post("/follow/", {"subscription": sub.pk, "action": "frequency", "frequency": "weekly"})
    client.post("/follow/", {"subscription": sub.pk, "action": "pause"})
    sub.refresh_from_db()
    assert sub.frequency == "weekly" and sub.paused


def test_may_be_affected_never_names_a_page_the_reader_may_not_see(publish, client):
    secret = f.policy("Vetting levels", audience="restricted")
    topic = f.topic("security")
    citing = f.procedure("Badge requests", implements=[secret], topics=[topic])
    reader_ = reader("jack")
    cleared = reader("kate", "content_owner")
    for u in (reader_, cleared):
        follow.follow(u, "page", citing.pk)
    mail.outbox.clear()
    publish(secret, summary="Level SC now needs two referees.")
    by_to = {m.to[0]: m for m in mail.outbox}
    plain = by_to["jack@example.gov"]
    for part in (plain.body, plain.alternatives[0][0]):
        assert "Badge requests" in part and "May be affected by a change to a page it cites." in part
        assert "Vetting" not in part and "referees" not in part
    assert "May be affected by a change to Vetting levels: Level SC now needs two referees." in \
        by_to["kate@example.gov"].body
    change = GuidanceChange.objects.get(page_id=citing.pk, kind="affected")
    client.force_login(reader_)
    html = client.get(reverse("km_what_changed", args=[change.pk])).content.decode()
    assert "Badge requests" in html and "Vetting" not in html and "referees" not in html
    client.logout()
    feed = client.get("/follow/feeds/topic/security/").content.decode()
    assert "Badge requests" in feed and "Vetting" not in feed and "referees" not in feed
