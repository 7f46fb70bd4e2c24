"""User journeys in a real browser against the real stack."""

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def api_json(stack, path):
    with urllib.request.urlopen(stack["url"] + path, timeout=30) as response:
        return json.loads(response.read())


def test_civil_servant_searches_filters_opens_and_follows_a_citation(new_page):
    page = new_page("civil")
    page.goto("/")
    page.fill("#home-q", "what should I do if my work laptop is stolen")
    page.keyboard.press("Enter")
    page.wait_for_selector("ol.results li.result")
    titles = page.locator("ol.results li.result h3").all_inner_texts()
    assert titles, "no results"
    # filter by a topic facet
    page.locator("fieldset:has(legend:text('Topic')) input[type=checkbox]").first.check()
    page.wait_for_url(re.compile(r"[?&]topic="))  # the checkbox submits the form (static/js/govkm.js)
    first = page.locator("ol.results li.result h3 a").first
    title = first.inner_text()
    first.click()
    page.wait_for_selector("article.knowledge h1")
    assert page.locator("article.knowledge h1").inner_text() == title
    cites = page.locator("section.citations a")
    assert cites.count() >= 1
    target = cites.first.inner_text()
    cites.first.click()
    expect(page.locator("article.knowledge h1")).to_have_text(target)


def test_nothing_restricted_leaks_to_anonymous_or_civil_servants(new_page, stack):
    owner = new_page("owner")
    owner.goto("/search/?q=fraud+investigation")
    owner.wait_for_selector("ol.results li.result")
    restricted = [
        (a.inner_text(), a.get_attribute("href"))
        for a in owner.locator("ol.results li.result h3 a").all()
    ]
    owner.goto("/search/?q=fraud+investigation&audience=restricted")
    restricted = [(a.inner_text(), a.get_attribute("href")) for a in owner.locator("ol.results li.result h3 a").all()]
    assert restricted, "the content owner should find restricted pages"
    titles = [t for t, _ in restricted]

    for user in (None, "civil"):
        visitor = new_page(user)
        visitor.goto("/search/?q=fraud+investigation")
        html = visitor.content()
        for title in titles:
            assert title not in html, (user, title)
        assert "restricted" not in visitor.locator("aside.facets").inner_text().lower()
        # the API and its facets
        data = api_json(stack, "/api/search/?q=fraud+investigation") if user is None else None
        if data is not None:
            assert not set(titles) & {r["title"] for r in data["results"]}
            assert "restricted" not in data["facets"].get("audience", {})
        # direct URLs of restricted pages (found through the click redirect's target)
        owner.goto("/search/?q=fraud+investigation&audience=restricted")
        owner.locator("ol.results li.result h3 a").first.click()
        secret_url = owner.url
        response = visitor.goto(secret_url)
        assert "/login/" in visitor.url or response.status in (403, 404)
        assert titles[0] not in visitor.content()
