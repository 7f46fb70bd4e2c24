"""Keyboard and screen-reader basics in Chromium, beyond what axe's rules see:
journeys done with the keyboard alone (skip link, visible focus, order, no
traps, the admin's due-date picker), reflow at 320 CSS px and at 200% zoom,
prefers-reduced-motion, text alternatives and data tables for charts, and
states carried by text, not colour alone."""

import datetime
import re

import pytest
from playwright.sync_api import expect

from knowledge.freshness import Freshness
from knowledge.models.pages import PolicyStatus

from .test_accessibility import TARGETS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

FOCUSED = """() => {
  let e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e), r = e.getBoundingClientRect();
  return {tag: e.tagName, id: e.id, cls: e.className, text: (e.innerText || e.value || '').trim().slice(0, 60),
          name: e.getAttribute('name'), type: e.getAttribute('type'), inShadow: !!e.shadowRoot,
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2, shadow: s.boxShadow !== 'none',
          inView: r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth};
}"""


def focused(page):
    return page.evaluate(FOCUSED)


def tab_to(page, test, limit=120, key="Tab"):
    """Press Tab until ``test(focused element)`` holds; fail if it never does."""
    seen = []
    for _ in range(limit):
        page.keyboard.press(key)
        now = focused(page)
        seen.append(now and (now["tag"], now["id"] or now["name"] or now["text"]))
        if now and test(now):
            return now
    pytest.fail(f"never reached by Tab on {page.url}; focus went through {seen[:40]}")


def assert_visible_focus(stop, where):
    if stop["inShadow"]:  # Wagtail's userbar: its own shadow DOM and focus styles
        return
    assert stop["outline"] or stop["shadow"], f"no visible focus indicator on {stop} at {where}"
    assert stop["inView"], f"the focused element is off screen: {stop} at {where}"


def open_as(role_contexts, role, path, width=1280, height=900):
    page = role_contexts(role).new_page()
    page.set_default_timeout(20_000)
    page.set_viewport_size({"width": width, "height": height})
    page.goto(path)
    return page


# --- journeys with the keyboard alone ---------------------------------------------------------------

@pytest.mark.parametrize("path", ["{policy}", "/learning/", "/search/?q=records"])
def test_skip_link_is_first_visible_and_moves_focus_to_the_content(path, role_contexts, audit_targets):
    # (the home page puts focus in its search box on load, past the skip link)
    page = open_as(role_contexts, "civil", path.format(**audit_targets))
    page.keyboard.press("Tab")
    stop = focused(page)
    assert stop["text"] == "Skip to main content", stop
    assert_visible_focus(stop, "/")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # the next Tab lands inside the content, not back in the header
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")
    page.close()


@pytest.mark.parametrize("role,path", [
    ("civil", "/"), ("civil", "/search/?q=what+should+I+do+if+my+work+laptop+is+stolen"),
    ("civil", "{policy}"), ("civil", "{procedure}"), ("civil", "/learning/"), ("civil", "{check}"),
    ("hr", "/learning/reports/"), (None, "/accessibility/"),
])
def test_every_tab_stop_shows_focus_in_document_order_and_tabbing_leaves_the_page(role, path, role_contexts,
                                                                                  audit_targets):
    page = open_as(role_contexts, role, path.format(**audit_targets))
    assert page.locator("[tabindex]:not([tabindex='0']):not([tabindex='-1'])").count() == 0, \
        "a positive tabindex reorders the page"
    # the stops from where focus starts (the top, or a field the page focuses on load) to the end
    expected = page.evaluate("""() => { const start = document.activeElement;
      return [...document.querySelectorAll(
        'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex="0"], wagtail-userbar'
      )].filter(e => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
        .filter(e => start === document.body || (start.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING))
        .length; }""")
    order = []
    for _ in range(expected + 10):  # no trap: focus leaves the page after the last stop
        page.keyboard.press("Tab")
        stop = focused(page)
        if stop is None:
            break
        assert_visible_focus(stop, page.url)
        order.append(page.evaluate("""() => { const all = [...document.querySelectorAll('*')];
                                           return all.indexOf(document.activeElement); }"""))
    else:
        pytest.fail(f"focus never left {page.url} after {expected + 10} presses of Tab (a keyboard trap?)")
    radios = page.locator("input[type=radio]").count()  # a radio group is one stop
    assert len(order) >= expected - radios - 2, (len(order), expected)
    assert order == sorted(order), f"Tab order does not follow the document on {page.url}: {order}"
    page.close()


def test_civil_servant_searches_filters_and_opens_a_result_by_keyboard(role_contexts):
    page = open_as(role_contexts, "civil", "/")
    tab_to(page, lambda f: f["id"] == "home-q")
    page.keyboard.type("what should I do if my work laptop is stolen")
    page.keyboard.press("Enter")
    page.wait_for_selector("ol.results li.result")
    stop = tab_to(page, lambda f: f["type"] == "checkbox" and f["name"] == "topic")
    assert_visible_focus(stop, page.url)
    page.keyboard.press("Space")  # the facet submits its form on change
    page.wait_for_url(re.compile(r"[?&]topic="))
    page.wait_for_selector("ol.results li.result")
    first = page.locator("ol.results li.result h3 a").first.inner_text()
    stop = tab_to(page, lambda f: f["tag"] == "A" and f["text"] == first)
    assert_visible_focus(stop, page.url)
    page.keyboard.press("Enter")
    expect(page.locator("article.knowledge h1")).to_have_text(first)
    page.close()


def test_learner_takes_a_knowledge_check_by_keyboard(role_contexts, audit_targets):
    # another learner than the audit's, so either may run first
    page = open_as(role_contexts, "sam.achebe", audit_targets["check"])
    questions = page.locator("fieldset.question").count()
    assert questions
    for _ in range(questions):
        stop = tab_to(page, lambda f: f["type"] == "radio")
        assert_visible_focus(stop, page.url)
        page.keyboard.press("ArrowDown")  # arrows move within the group and choose
    tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "Submit answers")
    page.keyboard.press("Enter")
    page.wait_for_load_state("load")
    expect(page.locator(".callout[role=status]")).to_contain_text("Attempt 1")
    page.close()


def test_due_date_picker_can_be_used_and_left_by_keyboard(role_contexts):
    page = open_as(role_contexts, "hr", "/admin/snippets/training/assignment/add/")
    due = page.get_by_role("textbox", name="Due date")
    tab_to(page, lambda f: f["name"] == "due_date")
    day = (datetime.date.today() + datetime.timedelta(days=40)).isoformat()
    page.keyboard.type(day)
    page.wait_for_timeout(400)  # the picker opens 100 ms after the field takes focus
    page.keyboard.press("Tab")
    expect(page.locator(".xdsoft_datetimepicker:visible")).to_have_count(0)
    expect(due).to_have_value(day)
    assert focused(page)["name"] != "due_date", "focus stayed in the date field"
    # and back: Shift+Tab returns to the field, Escape closes the picker again
    page.keyboard.press("Shift+Tab")
    assert focused(page)["name"] == "due_date"
    page.wait_for_timeout(400)
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    expect(page.locator(".xdsoft_datetimepicker:visible")).to_have_count(0)
    expect(due).to_have_value(day)
    page.close()


# --- reflow -----------------------------------------------------------------------------------------

REFLOW = [(name, role, where) for name, role, where in TARGETS
          if isinstance(where, str) and not where.startswith("/admin/")]
OVERFLOW = """() => {
  const w = document.documentElement.clientWidth;
  const cut = [...document.querySelectorAll('main *')].filter(e => {
    if (e.closest('.table-scroll, .scroll-region, .visually-hidden')) return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.right > w + 1 || r.left < -1);
  }).slice(0, 5).map(e => e.tagName + (e.className ? '.' + e.className : ''));
  return {scroll: document.documentElement.scrollWidth, width: w, cut};
}"""


@pytest.mark.parametrize("width,height", [(320, 640), (640, 450)], ids=["320px", "200pc-zoom"])
@pytest.mark.parametrize("name,role,where", REFLOW, ids=[t[0] for t in REFLOW])
def test_content_reflows(name, role, where, width, height, role_contexts, audit_targets):
    """At 320 CSS px (WCAG 1.4.10), and at 200% zoom of a 1280 x 900 window
    (640 x 450 CSS px), nothing scrolls sideways but the tables and the chart
    made to scroll in their own regions."""
    page = open_as(role_contexts, role, where.format(**audit_targets), width, height)
    got = page.evaluate(OVERFLOW)
    assert got["scroll"] <= got["width"] and not got["cut"], f"{name} at {width} px: {got}"
    page.close()


# --- motion, charts, badges -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/learning/", "{policy}", "/learning/reports/"])
def test_reduced_motion_is_respected(path, role_contexts, audit_targets):
    page = role_contexts("hr").new_page()
    page.emulate_media(reduced_motion="reduce")
    page.goto(path.format(**audit_targets))
    moving = page.evaluate("""() => {
      const probe = document.createElement('div');
      probe.style.cssText = 'transition: opacity 2s; animation: none 3s infinite; scroll-behavior: smooth';
      document.querySelector('main').appendChild(probe);
      const all = [...document.querySelectorAll('body *')];
      const secs = v => Math.max(...v.split(',').map(parseFloat));
      return all.filter(e => { const s = getComputedStyle(e);
        return secs(s.transitionDuration) > 0 || secs(s.animationDuration) > 0 || s.scrollBehavior === 'smooth'; })
        .slice(0, 5).map(e => e.tagName + '.' + e.className);
    }""")
    assert not moving, f"motion despite prefers-reduced-motion on {path}: {moving}"
    page.close()


@pytest.mark.parametrize("role,path", [("hr", "/learning/reports/"), ("owner", "/admin/reports/unanswered/")])
def test_charts_have_a_text_alternative_and_a_data_table(role, path, role_contexts):
    page = open_as(role_contexts, role, path)
    charts = page.evaluate("""() => [...document.querySelectorAll('main svg, .content svg, svg.chart, .heatmap svg')]
      .filter(s => s.getAttribute('aria-hidden') !== 'true' && s.getBoundingClientRect().width > 40)
      .map(s => {
        const ids = (s.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
        const name = ids.map(i => (document.getElementById(i) || {}).textContent || '').join(' ').trim()
                     || s.getAttribute('aria-label') || '';
        const tables = [...document.querySelectorAll('table')].filter(
          t => s.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING);
        return {role: s.getAttribute('role'), name, table: tables.length ? tables[0].rows.length : 0};
      })""")
    assert charts, f"no chart on {path}"
    for chart in charts:
        assert chart["role"] == "img" and len(chart["name"]) > 20, chart
        assert chart["table"] > 1, f"no data table after the chart on {path}: {chart}"
    page.close()


@pytest.mark.parametrize("key", ["policy", "policy_superseded", "policy_rescinded", "lesson", "section"])
def test_trust_badges_and_states_are_named_in_text(key, role_contexts, audit_targets):
    """Freshness and legal-status badges say their state in words: colour
    (the border) is never the only carrier."""
    page = open_as(role_contexts, "civil", audit_targets[key])
    badges = page.evaluate("""() => [...document.querySelectorAll('.badge')].map(b => ({
        cls: b.className, text: b.innerText.trim()}))""")
    assert badges, f"no trust badge on {key}"
    names = {**Freshness.LABELS, **dict(PolicyStatus.choices)}
    for badge in badges:
        state = re.search(r"badge-(\w+)", badge["cls"]).group(1)
        assert badge["text"].startswith(names[state]), f"the {state} badge reads {badge['text']!r}"
    icons = page.evaluate("""() => [...document.querySelectorAll('main svg, main img')].filter(
        e => e.getAttribute('aria-hidden') !== 'true' && !e.getAttribute('alt') && !e.getAttribute('aria-label')
             && !e.getAttribute('aria-labelledby') && !e.querySelector('title')).length""")
    assert icons == 0, f"{icons} icon(s) without a text name on {key}"
    page.close()
