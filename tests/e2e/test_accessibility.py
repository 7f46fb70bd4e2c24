"""The accessibility audit: axe-core's WCAG 2.0/2.1/2.2 A and AA rules in
Chromium against every public template and GovKM's own admin views, in
realistic states and as the role that sees them. Zero violations of any
impact; a failure names rule, element and page.

One test per page and state (a failing page hides no other); the stack, the
browser and each role's signed-in session are shared. A complete run that
reaches every target writes kmsite/accessibility_audit.json, which the
accessibility statement (/accessibility/) quotes for the date of the last
automated audit."""

import datetime
import json
import re

import pytest

from kmsite.accessibility import AUDIT_RECORD  # the statement reads it

from .axe import WCAG_TAGS, axe_version, describe, run_axe

pytestmark = [pytest.mark.e2e, pytest.mark.slow]



def submit_feedback(page, t):
    page.goto(t["policy"])
    form = page.locator("form.feedback")
    form.get_by_role("radio", name="Yes").check()
    form.get_by_role("button", name="Send feedback").click()
    page.wait_for_load_state("load")


def take_check(page, t):
    page.goto(t["check"])
    for fieldset in page.locator("fieldset.question").all():
        fieldset.get_by_role("radio").first.check()
    page.get_by_role("button", name="Submit answers").click()
    page.wait_for_load_state("load")


# (name, role, path with {target} fields, or a function(page, targets) that gets there)
TARGETS = [
    ("home-anonymous", None, "/"),
    ("home", "civil", "/"),
    ("search-results", "civil", "/search/?q=what+should+I+do+if+my+work+laptop+is+stolen"),
    ("search-facets", "civil", "/search/?q=policy&topic={topic_slug}&type=policy"),
    ("search-no-results", "civil", "/search/?q=zqxjvw+kplmtr"),
    ("search-error", "civil", "/search/?q=policy&page=0"),
    ("search-empty", "civil", "/search/"),
    ("policy", "civil", "{policy}"),
    ("policy-superseded", "civil", "{policy_superseded}"),
    ("policy-rescinded", "civil", "{policy_rescinded}"),
    ("procedure-with-attachments", "civil", "{procedure}"),
    ("lesson", "civil", "{lesson}"),
    ("section-index", "civil", "{section}"),
    ("topic-index", "civil", "{topic_index}"),
    ("topic", "civil", "{topic}"),
    ("freshness", "civil", "/freshness/"),
    ("policies-in-force", "civil", "{in_force}"),
    ("policies-in-force-bad-date", "civil", "{in_force_error}"),
    ("page-feedback-thanks", "civil", submit_feedback),
    ("my-learning", "civil", "/learning/"),
    ("catalogue", "civil", "/learning/catalogue/"),
    ("curriculum", "civil", "{curriculum}"),
    ("module", "civil", "{module}"),
    ("knowledge-check", "civil", "{check}"),
    ("knowledge-check-after-attempt", "civil", take_check),
    ("certificate", "civil", "{certificate}"),
    ("accessibility-statement", None, "/accessibility/"),
    ("page-as-owner-with-userbar", "owner", "{owned_page}"),
    ("admin-dashboard-owner", "owner", "/admin/"),
    ("admin-freshness-report", "admin", "/admin/reports/freshness/"),
    ("admin-freshness-report-unit", "admin", "/admin/reports/freshness/?unit=records-office"),
    ("admin-unanswered", "owner", "/admin/reports/unanswered/"),
    ("admin-content-requests", "owner", "/admin/snippets/kmsearch/contentrequest/"),
    ("admin-review", "owner", "/admin/knowledge/review/{owned_page_id}/"),
    ("admin-accountability", "admin", "/admin/reports/accountability/"),
    ("admin-index-health", "admin", "/admin/reports/search-index/"),
    ("admin-dashboard-admin", "admin", "/admin/"),
    ("training-reports-heatmap", "hr", "/learning/reports/"),
    ("training-team", "hr", "/learning/team/"),
    ("training-learner", "hr", "/learning/people/civil/"),
    ("training-review-queue", "hr", "/learning/review/"),
    ("admin-training-import", "hr", "/admin/training/import/"),
    ("admin-dashboard-hr", "hr", "/admin/"),
]

_results = {}


@pytest.mark.parametrize("name,role,where", TARGETS, ids=[t[0] for t in TARGETS])
def test_page_has_no_wcag_violations(name, role, where, role_contexts, audit_targets):
    page = role_contexts(role).new_page()
    page.set_default_timeout(20_000)
    try:
        if callable(where):
            where(page, audit_targets)
        else:
            missing = [k for k in re.findall(r"{(\w+)}", where) if not audit_targets.get(k)]
            assert not missing, f"the demo content has no {missing} for {name}"
            response = page.goto(where.format(**audit_targets))
            assert response.status < 500, (response.status, page.url)
        page.wait_for_load_state("load")
        violations = run_axe(page)
        _results[name] = sum(len(v["nodes"]) for v in violations)
        assert not violations, f"{len(violations)} WCAG rule(s) failed:\n" + describe(
            violations, f"{name} as {role or 'anonymous'} ({page.url})")
    finally:
        page.close()


def pytest_sessionfinish_record():
    """Write the audit record when every target of the audit ran."""
    if set(_results) != {t[0] for t in TARGETS}:
        return
    record = {
        "date": datetime.date.today().isoformat(),
        "tool": f"axe-core {axe_version()}",
        "rules": WCAG_TAGS,
        "pages": len(_results),
        "violations": sum(_results.values()),
        "failing_pages": sorted(n for n, c in _results.items() if c),
    }
    AUDIT_RECORD.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


@pytest.fixture(scope="module", autouse=True)
def _record_audit():
    yield
    pytest_sessionfinish_record()
