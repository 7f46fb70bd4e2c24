"""GovKM's content checker replaces Wagtail's in the userbar and in the
editor's Checks panel (both read the userbar hook), with GovKM's rules."""

import re

import pytest
from django.test import RequestFactory
from wagtail.admin.userbar import AccessibilityItem, AdminItem, apply_userbar_hooks

from kmsite.content_checks import VAGUE_LINK_TEXT, GovKMContentCheckerItem


@pytest.mark.parametrize("in_editor", [False, True])
def test_the_userbar_hook_swaps_in_govkm_checks(in_editor):
    items = [AdminItem(), AccessibilityItem(in_editor=in_editor)]
    apply_userbar_hooks(RequestFactory().get("/"), items, None)
    assert isinstance(items[0], AdminItem)
    checker = items[1]
    assert type(checker) is GovKMContentCheckerItem and checker.in_editor is in_editor
    config = checker.get_axe_configuration(None)
    assert {"heading-order", "image-alt", "alt-text-quality", "govkm-link-text"} <= set(config["options"]["runOnly"])
    assert config["context"]["include"] == ["main"]
    rule = next(r for r in config["spec"]["rules"] if r["id"] == "govkm-link-text")
    check = next(c for c in config["spec"]["checks"] if c["id"] in rule["any"])
    assert check["options"]["pattern"] == VAGUE_LINK_TEXT
    assert "govkm-link-text" in config["messages"]
    assert "kmsite/js/content-checks.js" in str(checker.media)
    # no page (a learning or search view): no meta description for an editor to write
    assert "empty-meta-description" not in config["options"]["runOnly"]


@pytest.mark.django_db
def test_pages_keep_the_meta_description_check():
    from wagtail.models import Page

    items = [AccessibilityItem()]
    apply_userbar_hooks(RequestFactory().get("/"), items, Page.objects.get(depth=1))
    assert "empty-meta-description" in items[0].get_axe_configuration(None)["options"]["runOnly"]


@pytest.mark.parametrize("text,vague", [
    ("click here", True), ("Read more", True), ("here", True), ("More information", True),
    ("the retention schedule", False), ("Read more about the retention schedule", False), ("Download the form", False),
])
def test_vague_link_text(text, vague):
    # the same pattern the browser check applies (case-insensitive, trimmed)
    assert bool(re.search(VAGUE_LINK_TEXT, text.strip(), re.IGNORECASE)) is vague
