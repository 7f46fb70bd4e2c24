"""Following guidance in a real browser against the real stack: a civil
servant follows a topic from the search results, sees it on "My
subscriptions", and receives the e-mail (the stack's real SMTP server,
tests/smtp.py) after the page's owner publishes a material change."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from .conftest import admin_messages, wait_until
from .test_journeys_editorial import (
    append_to_rich_text,
    click_footer_action,
    distinctive_word,
    open_editor_from_userbar,
    search,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TOPIC = "Records Management"
# internal, topic records-management, owned by "owner" (demo README); no other journey changes it
TITLE = "Disposing of records at the end of their retention period"
# cites it and is in the same topic: the reader is told it may be affected, in the same e-mail
CITING = "Migrating 1.2 million records without carrying over the retention dates"
READER = "civil@example.gov"  # "civil": a civil servant, may read internal guidance
MAIL_SECONDS = 90


def test_follow_a_topic_from_search_and_receive_the_email_after_a_material_change(new_page, stack):
    smtp = stack["smtp"]
    word = distinctive_word()
    summary = f"Chat messages about decisions are now filed within 5 working days ({word})."

    # --- the reader follows the topic from the search results ---------------------------
    reader = new_page("civil")
    hit = next((r for r in search(reader, TITLE)["results"] if r["title"] == TITLE), None)
    assert hit, f"{TITLE!r} not found by the search API"
    path = urlsplit(hit["url"]).path
    reader.goto("/search/?q=records&topic=records-management")
    expect(reader.locator("main")).to_contain_text(TITLE)
    follow_topic = reader.get_by_role("button", name=f"Follow the topic {TOPIC}", exact=True)
    expect(follow_topic).to_be_visible()
    follow_topic.click()
    reader.wait_for_load_state("load")
    assert "/search/" in reader.url  # back where they were
    expect(reader.get_by_role("button", name=f"Following the topic {TOPIC}", exact=True)).to_be_visible()

    # --- "My subscriptions" lists it -------------------------------------------------------
    reader.goto("/follow/")
    expect(reader.locator("main")).to_contain_text(f"Topic: {TOPIC}")

    # --- the owner publishes a material change to a page in that topic -------------------
    already = len(smtp.to(READER))
    owner = new_page("owner")
    page_id = open_editor_from_userbar(owner, path)
    append_to_rich_text(owner, "purpose", f"{word}: chat messages recording a decision are filed as records.")
    owner.get_by_label("Material change").check()
    owner.get_by_label("What changed").fill(summary)
    click_footer_action(owner, "Publish")
    assert TITLE in admin_messages(owner), admin_messages(owner)

    # --- one e-mail reaches the reader, with the change note and its links ------------------
    def about_the_change():
        return [m for m in smtp.to(READER)[already:] if word in m.get_body(("plain",)).get_content()]

    assert wait_until(about_the_change, timeout=MAIL_SECONDS), (
        f"no e-mail about the change to {READER} within {MAIL_SECONDS}s (got "
        f"{[m['Subject'] for m in smtp.to(READER)[already:]]}):\n"
        + (stack["logs"] / "worker.log").read_text()[-3000:])
    mine = about_the_change()
    assert len(mine) == 1, [m["Subject"] for m in smtp.to(READER)]
    # nothing else: the demo's own publications are not news to a new follower
    assert len(smtp.to(READER)) == already + 1, [m["Subject"] for m in smtp.to(READER)]
    [message] = mine
    assert message["Subject"] == "2 changes to guidance you follow"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    assert f"Changed: {TITLE}" in text and f"May be affected: {CITING}" in text
    html = message.get_body(("html",)).get_content()
    assert summary in text and word in html
    assert path in text
    changes = re.search(r"https?://\S+/follow/changes/(\d+)/", text)
    assert changes, text

    # the reader opens "what changed" from the e-mail: the note and the added sentence
    reader.goto(urlsplit(changes.group(0)).path)
    expect(reader.locator("main")).to_contain_text(summary)
    expect(reader.locator("main ins").filter(has_text=word).first).to_be_visible()
    assert f"/admin/pages/{page_id}/" not in text  # readers get the public page, not the editor
