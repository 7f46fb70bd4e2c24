"""Editorial journeys in a real browser against the real stack:

2. an editor's material change goes through approval, becomes searchable and
   flags the pages citing it;
3. a content owner confirms an overdue page is still accurate from the
   dashboard, and the page's badge and the freshness report follow.
"""

import datetime
import random
import re
import string
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from .conftest import admin_messages, api_json, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PROCEDURE = "/procedures/tender-procedure-open/"  # public; cited by lesson-ehealth-tender-delays (demo README)
CITING_LESSON = "/lessons-learned/lesson-ehealth-tender-delays/"
POLL_SECONDS = 30


def distinctive_word():
    """A made-up word no demo page contains (letters only, so every analyser keeps it whole)."""
    return "Zorblat" + "".join(random.choices(string.ascii_lowercase, k=8))


def search(page_or_stack, q, **params):
    return api_json(page_or_stack, "/api/search/?" + urlencode({"q": q, "mode": "lexical", **params}))


def result_for(data, url):
    return next((r for r in data["results"] if r["url"] == url), None)


def badge(page):
    """The freshness badge of the knowledge page shown in ``page``."""
    return page.locator("article.knowledge .badge[role=status]")


def badge_state(page):
    classes = badge(page).get_attribute("class") or ""
    found = re.search(r"\bbadge-([a-z_]+)\b", classes)
    return found.group(1) if found else None


def cited_by(page):
    """(title, path) of the pages listed under "Cited by" on a knowledge page."""
    block = page.locator("section.citations div").filter(has=page.get_by_role("heading", name="Cited by"))
    return [(a.inner_text(), a.get_attribute("href")) for a in block.get_by_role("link").all()]


def click_footer_action(page, name):
    """Click an action of the admin editor's footer menu, opening its dropdown if needed."""
    footer = page.locator("footer")
    button = footer.get_by_role("button", name=name, exact=True)
    if not button.is_visible():
        footer.get_by_role("button", name="More actions").click()
    button.click()
    page.wait_for_load_state("load")


def open_editor_from_userbar(page, public_path):
    """From the public page, the Wagtail user bar's "Edit this page"; returns the page id."""
    page.goto(public_path)
    page.locator("wagtail-userbar").get_by_role("button").first.click()
    page.get_by_role("menuitem", name="Edit this page").click()
    page.wait_for_url(re.compile(r"/admin/pages/\d+/edit/$"))
    return int(re.search(r"/admin/pages/(\d+)/edit/", page.url).group(1))


def append_to_rich_text(page, field, text):
    """Type a new paragraph at the end of a Draftail field and wait until the
    editor has serialised it into the field's hidden input (debounced)."""
    editor = page.locator(f"#panel-child-content-{field}-content [contenteditable=true]")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type(text)
    page.wait_for_function(
        "([name, text]) => document.querySelector(`input[name=${name}]`).value.includes(text)", arg=[field, text]
    )


def test_material_change_is_approved_then_searchable_and_citing_pages_need_review(new_page, stack):
    word = distinctive_word()
    sentence = f"{word} envelopes are opened by two procurement officers together."
    summary = f"Tender envelopes must now be opened by two officers ({word})."

    # --- before: the live procedure and the pages citing it ---------------------------
    visitor = new_page()
    visitor.goto(PROCEDURE)
    procedure_title = visitor.locator("article.knowledge h1").inner_text()
    citing = cited_by(visitor)
    assert CITING_LESSON in [path for _, path in citing], citing
    for _, path in citing:
        visitor.goto(path)
        assert badge_state(visitor) != "needs_review", (path, badge(visitor).inner_text())
    assert not search(stack, word)["results"]

    # --- the editor drafts the change and submits it for approval -------------------------
    editor = new_page("editor")
    page_id = open_editor_from_userbar(editor, PROCEDURE)
    append_to_rich_text(editor, "purpose", sentence)
    editor.get_by_label("Material change").check()
    editor.get_by_label("What changed").fill(summary)
    click_footer_action(editor, "Submit to Editorial review")
    assert "submitted for moderation" in admin_messages(editor), admin_messages(editor)

    # the public page, search and the citing pages do not change yet
    visitor.goto(PROCEDURE)
    expect(visitor.locator("article.knowledge h1")).to_be_visible()
    assert word not in visitor.content()
    assert not search(stack, word)["results"]
    for _, path in citing:
        visitor.goto(path)
        assert badge_state(visitor) != "needs_review", path

    # --- the content owner approves it in the admin -------------------------------------
    owner = new_page("owner")
    owner.goto(f"/admin/pages/{page_id}/edit/")
    click_footer_action(owner, "Approve and Publish")
    assert procedure_title in admin_messages(owner), admin_messages(owner)

    # --- the new wording is live and searchable within seconds -----------------------------
    visitor.goto(PROCEDURE)
    expect(visitor.locator("article.knowledge")).to_contain_text(sentence)
    found = wait_until(lambda: result_for(search(stack, word), PROCEDURE), timeout=POLL_SECONDS)
    assert found, f"/api/search/?q={word} did not return {PROCEDURE} within {POLL_SECONDS}s"
    assert found["page_id"] == page_id

    # --- every page citing it now needs review: the public badge and the API -------------------
    for title, path in citing:
        visitor.goto(path)
        assert badge_state(visitor) == "needs_review", (path, badge(visitor).inner_text())
        expect(badge(visitor)).to_contain_text("Needs review")
        flag = badge(visitor).locator("ul.flags li").filter(has_text=summary)
        expect(flag).to_have_count(1)
        expect(flag.get_by_role("link")).to_have_attribute("href", PROCEDURE)
        indexed = wait_until(
            lambda title=title, path=path: (r := result_for(search(stack, title), path)) and r["freshness"] == "needs_review",
            timeout=POLL_SECONDS,
        )
        assert indexed, f"the search API still does not report {path} as needs_review"


# --- journey 3 ------------------------------------------------------------------------------
def freshness_report(page):
    """{unit label: {state label: count}} from the admin freshness report."""
    page.goto("/admin/reports/freshness/")
    table = page.locator("table").filter(has=page.get_by_role("columnheader", name="Overdue for review")).first
    headers = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    rows = {}
    for row in table.locator("tbody tr").all():
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        rows[cells[0]] = {h: int(c.split()[0]) for h, c in zip(headers[1:], cells[1:])}
    assert rows, "the freshness report shows no units"
    return rows


def unit_row(report, unit_name):
    matches = [label for label in report if label == unit_name or label.endswith(f"› {unit_name}")]
    assert len(matches) == 1, (unit_name, list(report))
    return report[matches[0]]


def overdue_group(dashboard):
    panel = dashboard.locator("#knowledge-my-content-section")
    heading = panel.locator("h3", has_text=re.compile(r"^Overdue for review \(\d+\)$"))
    return heading, panel.locator("h3:has-text('Overdue for review') + table tbody tr")


def test_owner_confirms_an_overdue_page_from_the_dashboard(new_page, stack):
    today = datetime.date.today()

    admin = new_page("admin")
    before = freshness_report(admin)

    owner = new_page("owner")
    owner.goto("/admin/")
    heading, rows = overdue_group(owner)
    expect(heading).to_be_visible()
    overdue_before = int(re.search(r"\((\d+)\)", heading.inner_text()).group(1))
    assert rows.count() == overdue_before >= 1
    row = rows.first
    link = row.locator("td.title a")
    title = link.inner_text()
    page_id = int(re.search(r"/admin/pages/(\d+)/edit/", link.get_attribute("href")).group(1))
    unit_name = row.locator("td.title span").inner_text().strip()

    # where the page lives on the site (the search API, as the owner)
    hit = next((r for r in search(owner, title)["results"] if r["page_id"] == page_id), None)
    assert hit, f"{title!r} not found by the search API"
    public_path = hit["url"]
    assert hit["freshness"] == "overdue", hit

    reader = new_page("owner")
    reader.goto(public_path)
    assert badge_state(reader) == "overdue", badge(reader).inner_text()
    expect(badge(reader)).to_contain_text("Overdue for review")

    # one click on the dashboard
    row.get_by_role("button", name="Confirm still accurate").click()
    owner.wait_for_load_state("load")
    assert owner.url.rstrip("/").endswith("/admin")
    assert f"“{title}” confirmed as still accurate." in admin_messages(owner)
    _, rows = overdue_group(owner)
    assert title not in rows.all_inner_texts()
    if overdue_before > 1:
        expect(overdue_group(owner)[0]).to_have_text(f"Overdue for review ({overdue_before - 1})")

    # the public badge: up to date, reviewed today, next review in the future
    reader.goto(public_path)
    assert badge_state(reader) == "fresh", badge(reader).inner_text()
    expect(badge(reader)).to_contain_text("Up to date")
    times = badge(reader).locator("time")
    reviewed, due = (datetime.date.fromisoformat(t.get_attribute("datetime")) for t in times.all()[:2])
    days = {today, datetime.date.today()}  # the journey may cross midnight (the stack runs on this clock)
    assert reviewed in days and due > reviewed, (reviewed, due)

    # the freshness report: one overdue page fewer, in the page's unit and overall
    after = freshness_report(admin)
    unit_before, unit_after = unit_row(before, unit_name), unit_row(after, unit_name)
    assert unit_after["Overdue for review"] == unit_before["Overdue for review"] - 1
    assert unit_after["Up to date"] == unit_before["Up to date"] + 1
    assert unit_after["Pages"] == unit_before["Pages"]
    total = lambda report, col: sum(r[col] for r in report.values())  # noqa: E731
    assert total(after, "Overdue for review") == total(before, "Overdue for review") - 1

    # and search learns the new state too
    assert wait_until(
        lambda: (r := result_for(search(owner, title), public_path)) and r["freshness"] == "fresh",
        timeout=POLL_SECONDS,
    ), "the search API still reports the page as overdue"
