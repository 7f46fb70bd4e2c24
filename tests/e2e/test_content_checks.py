"""Editors see GovKM's content checks (Wagtail's checker, kmsite/content_checks.py)
in the page editor's Checks panel, beside "Submit for review": a vague link
text and a skipped heading level in a draft are named before it is submitted."""

import json
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from .conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# a draft copy of the content owner's own policy, never published (nothing a visitor sees changes)
MAKE_DRAFT = """
import json
from knowledge.models import PolicyPage
source = PolicyPage.objects.live().filter(owner_user__username="owner").order_by("pk").first()
draft = source.copy(to=source.get_parent(), keep_live=False, copy_revisions=False, log_action=None,
                    update_attrs={"title": "Draft with content problems", "slug": "draft-with-content-problems",
                                  "reference_number": source.reference_number + "-DRAFT"})
draft.body = [
    ("heading", "What to do"),
    ("paragraph", '<h4>Straight to a fourth-level heading</h4><p>For the form, <a href="https://example.gov/form">click here</a>.</p>'),
    ("paragraph", '<p>The <a href="https://example.gov/retention">retention schedule</a> lists every record.</p>'),
]
draft.save_revision()
print("DRAFT " + json.dumps({"id": draft.pk}))
"""


@pytest.fixture(scope="module")
def draft_id(stack):
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", MAKE_DRAFT], cwd=ROOT, env=stack["env"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    return json.loads(next(x for x in out.splitlines() if x.startswith("DRAFT ")).removeprefix("DRAFT "))["id"]


def test_the_checks_panel_names_vague_link_text_and_skipped_headings(new_page, draft_id):
    owner = new_page("owner")
    owner.goto(f"/admin/pages/{draft_id}/edit/")
    owner.get_by_role("button", name="Toggle checks").click()
    panel = owner.locator("[data-side-panel='checks']")
    expect(panel.get_by_text("Link text does not say where it goes")).to_be_visible()
    expect(panel.get_by_text("Incorrect heading hierarchy")).to_be_visible()
    # exactly these two: the descriptive link and the rest of GovKM's template raise nothing
    expect(panel.locator("[data-content-checker-count]").first).to_have_text("2")
    # ... beside the way to submit the draft for review (the demo's workflow)
    owner.get_by_role("button", name="More actions").click()
    expect(owner.get_by_role("button", name=re.compile(r"^Submit to "))).to_be_visible()
    expect(panel.get_by_text("Link text does not say where it goes")).to_be_visible()
