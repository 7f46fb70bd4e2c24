"""The answer card in a real browser (issue 23): ask, see the card, follow
its link, land on the highlighted sentence; say whether it answered."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_ask_see_the_card_follow_it_and_land_on_the_highlighted_sentence(new_page):
    page = new_page("civil")
    page.goto("/")
    page.fill("#home-q", "how many characters does my passphrase need")
    page.keyboard.press("Enter")
    card = page.locator("section.answer-card")
    expect(card).to_be_visible()
    expect(card.locator("h2")).to_contain_text("Acceptable Use of IT Policy")
    sentence = card.locator(".answer-text").inner_text()
    assert "14 characters" in sentence
    expect(card.locator("dt", has_text="Owned by")).to_be_visible()
    expect(card.locator(".badge")).to_be_visible()
    # the card comes before the results
    assert page.locator("section.answer-card + div.search-layout ol.results li.result").count() >= 1
    card.locator("a.answer-link").click()
    page.wait_for_url("**/policies/acceptable-use-policy/?hl=*#answer")
    mark = page.locator("mark#answer.answer-highlight")
    expect(mark).to_have_text(sentence)
    expect(mark).to_be_in_viewport()
    expect(mark).to_be_focused()
    background = mark.evaluate("m => getComputedStyle(m).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")


def test_the_card_asks_whether_it_answered_and_takes_a_no(new_page):
    page = new_page("civil")
    page.goto("/search/?q=how+many+characters+does+my+passphrase+need")
    card = page.locator("section.answer-card")
    expect(card).to_be_visible()
    card.get_by_role("button", name="No").click()
    expect(page.locator("h1")).to_have_text("Thank you")


def test_no_card_for_a_question_the_guidance_does_not_answer(new_page):
    page = new_page(None)
    page.goto("/search/?q=what+is+on+the+canteen+menu+today")
    page.wait_for_selector("h2#results-h")
    expect(page.locator("section.answer-card")).to_have_count(0)
