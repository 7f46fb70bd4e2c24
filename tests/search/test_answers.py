"""The answer card (issue 23): sentence splitting and question reading, the
refusal rules (low confidence, superseded guidance, what the viewer may not
open), the API's shape, escaping, feedback, the unanswered report and the
accountability log. The fake embedder is used here: quality with the real
model is in test_answer_quality.py."""

import json
import uuid

import pytest

from search import analytics
from search.answers import read_question
from search.models import Exposure, PageFeedback, QueryLog
from search.sentences import split_sentences
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_sentences_split_word_for_word_and_not_after_abbreviations():
    text = "Legal basis: Act 2016, s. 3 to s. 22. Respond within 20 working days. This starts on day 1! Is it? Yes."
    parts = split_sentences(text)
    assert parts == ["Legal basis: Act 2016, s. 3 to s. 22.", "Respond within 20 working days.",
                     "This starts on day 1!", "Is it?", "Yes."]
    assert all(p in text for p in parts)  # word for word


def test_reading_a_question():
    q = read_question("Which form do I use for the gifts register?")
    assert q.wants == "form" and "gift" in q.terms and "form" in q.terms
    assert read_question("how many working days to reply").wants == "count"
    assert read_question("phone number for the integrity line").wants == "phone"
    old = read_question("what was the threshold in the 2019 policy")
    assert old.old_intent and old.years == ("2019",)
    assert not read_question("what is the threshold for an open tender").old_intent
    assert read_question("quotes for a 30,000 purchase").numbers == ("30000",)


@pytest.fixture
def content(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        old = f.policy("Passphrase policy 2019", body="Passphrases have at least 8 characters.", status="superseded")
        new = f.policy("Passphrase policy 2024", body="Passphrases have at least 14 characters. They are never reused.",
                       supersedes=old)
        secret = f.policy("Vault procedure", body="The vault combination changes every 9 days.", audience="restricted")
        xss = f.policy('Tags <b>policy</b>', body='Badges show <script>alert(1)</script> at least 3 characters.')
    return {"old": old, "new": new, "secret": secret, "xss": xss}


def api(client, **params):
    return client.get("/api/search/", params).json()


@pytest.fixture
def always(settings):
    """A threshold every sentence passes: the rules, not the score, decide."""
    settings.KM_ANSWERS = {"MIN_CONFIDENCE": -10.0}


def test_api_answer_shape_and_the_sentence_word_for_word(client, content, always):
    data = api(client, q="how many characters must a passphrase have")
    a = data["answer"]
    assert set(a) >= {"text", "page_id", "title", "url", "section", "trust_state", "confidence"}
    assert a["page_id"] == content["new"].pk and a["title"] == "Passphrase policy 2024"
    assert "14 characters" in a["text"]
    assert a["url"].startswith(content["new"].url + "?hl=") and a["url"].endswith("#answer")
    assert a["in_force_since"] is None or len(a["in_force_since"]) == 10
    assert isinstance(a["confidence"], float)


def test_a_sentence_that_needs_the_one_before_gets_it(client, content, always):
    data = api(client, q="are passphrases reused never")
    assert data["answer"]["text"] == "Passphrases have at least 14 characters. They are never reused."


def test_low_confidence_means_no_card_and_an_unanswered_search(client, content, settings):
    settings.KM_ANSWERS = {"MIN_CONFIDENCE": 99.0}
    settings.KM_ANALYTICS = {**settings.KM_ANALYTICS, "UNANSWERED_SIMILARITY": -1.0}  # the fake embedder's matches are all weak
    data = api(client, q="how many characters must a passphrase have")
    assert data["answer"] is None and data["total"] >= 1
    analytics.flush()
    log = QueryLog.objects.get()
    assert log.answer_state == "low_confidence"
    assert QueryLog.objects.filter(analytics.unanswered_q()).filter(pk=log.pk).exists()
    assert analytics.unanswered_reason(log) == "no answer card"


def test_superseded_guidance_is_never_the_current_answer(client, content, always, django_capture_on_commit_callbacks):
    # only the old page holds "8 characters": a current question gets no card from it
    html = client.get("/search/", {"q": "passphrase 8 characters"}).content.decode()
    data = api(client, q="passphrase 8 characters")
    assert data["answer"] is None or data["answer"]["page_id"] != content["old"].pk
    if data["answer"] is None:
        assert "No current answer" in html and "Passphrase policy 2024" in html  # points to the successor
    # asked about the old version by its year, it is shown, marked as superseded
    data = api(client, q="how many characters did passphrases need in the 2019 policy")
    assert data["answer"]["page_id"] == content["old"].pk
    assert data["answer"]["trust_state"] == "superseded"
    assert data["answer"]["successor"]["title"] == "Passphrase policy 2024"
    html = client.get("/search/", {"q": "how many characters did passphrases need in the 2019 policy"}).content.decode()
    assert "no longer applies as current guidance" in html


@pytest.mark.parametrize("role,sees", [(None, False), ("civil_servant", False), ("content_owner", True)])
def test_nothing_the_viewer_may_not_open_is_ever_an_answer(client, content, always, role, sees):
    if role:
        client.force_login(f.user(f"ans-{role}", role))
    pages = set()
    for mode in ("hybrid", "lexical", "semantic"):
        data = api(client, q="how often does the vault combination change", mode=mode)
        if data["answer"]:
            pages.add(data["answer"]["page_id"])
            if not sees:
                assert "vault" not in json.dumps(data["answer"]).lower(), mode
    assert (content["secret"].pk in pages) == sees
    page = client.get("/search/", {"q": "how often does the vault combination change"}).content.decode()
    assert ("combination changes every 9 days" in page) == sees


def test_an_overdue_page_answer_carries_a_warning(client, content, always):
    from knowledge.models import KnowledgePage

    KnowledgePage.objects.filter(pk=content["new"].pk).update(freshness="overdue")
    from search.indexing import index_page

    index_page(content["new"].pk)
    data = api(client, q="how many characters must a passphrase have")
    if data["answer"]["trust_state"] == "overdue":
        assert "overdue" in data["answer"]["warning"]
        html = client.get("/search/", {"q": "how many characters must a passphrase have"}).content.decode()
        assert 'class="callout callout-warning answer-warning"' in html


def test_the_card_is_escaped(client, content, always):
    html = client.get("/search/", {"q": "badges show at least 3 characters"}).content.decode()
    card = html[html.find('<section class="answer-card'):html.find("</section>", html.find('<section class="answer-card'))]
    assert "Tags" in card
    assert "<script>alert(1)</script>" not in card and "<b>policy</b>" not in card
    assert "&lt;b&gt;policy&lt;/b&gt;" in card or "&lt;script&gt;" in card


def test_card_markup_is_accessible_and_links_to_the_sentence(client, content, always):
    html = client.get("/search/", {"q": "how many characters must a passphrase have"}).content.decode()
    assert '<section class="answer-card' in html and 'aria-labelledby="answer-h"' in html
    assert '<h2 id="answer-h">' in html
    assert "?hl=" in html and "#answer" in html
    assert "Did this answer your question?" in html


def test_answer_feedback_goes_to_the_page_and_a_no_counts_as_unanswered(client, content, always, settings):
    settings.KM_ANALYTICS = {**settings.KM_ANALYTICS, "UNANSWERED_SIMILARITY": -1.0}
    client.get("/search/", {"q": "how many characters must a passphrase have"})
    analytics.flush()
    log = QueryLog.objects.get()
    assert log.answer_state == "shown" and log.answer_page_id == content["new"].pk
    url = f"/search/answer-feedback/{log.pk}/"
    assert client.post(url, {"page": content["new"].pk, "helpful": "maybe"}).status_code == 400
    assert client.post(url, {"page": content["new"].pk, "helpful": "no"}).status_code == 200
    fb = PageFeedback.objects.get()
    assert fb.kind == "answer" and fb.search_id == log.pk and not fb.helpful
    assert fb.revision_id == content["new"].live_revision_id
    assert QueryLog.objects.filter(analytics.unanswered_q()).filter(pk=log.pk).exists()
    assert analytics.unanswered_reason(log) == "answer rejected"


def test_answer_feedback_needs_csrf_and_a_page_the_viewer_may_open(content):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/search/answer-feedback/{uuid.uuid4()}/", {"page": content["new"].pk,
                                                                    "helpful": "yes"}).status_code == 403
    lax = Client()
    assert lax.post(f"/search/answer-feedback/{uuid.uuid4()}/", {"page": content["secret"].pk,
                                                                 "helpful": "yes"}).status_code == 404
    assert not PageFeedback.objects.exists()


def test_a_shown_answer_is_logged_with_its_revision_where_accountability_is_on(client, content, always, settings):
    settings.KM_ANALYTICS = {**settings.KM_ANALYTICS, "ACCOUNTABILITY": True, "ASYNC": False}
    client.force_login(f.user("acct", "civil_servant"))
    client.get("/search/", {"q": "how many characters must a passphrase have"})
    shown = Exposure.objects.get(kind="answer")
    assert shown.page_id == content["new"].pk and shown.revision_id == content["new"].live_revision_id
    settings.KM_ANALYTICS = {**settings.KM_ANALYTICS, "ACCOUNTABILITY": False, "ASYNC": False}
    client.get("/search/", {"q": "how many characters must a passphrase have"})
    assert Exposure.objects.filter(kind="answer").count() == 1


def test_answers_can_be_switched_off(client, content, settings):
    settings.KM_ANSWERS = {"ENABLED": False}
    assert api(client, q="how many characters must a passphrase have")["answer"] is None


def test_owners_see_answer_cards_that_did_not_answer_on_their_dashboard(rf):
    from search.wagtail_hooks import PageFeedbackPanel

    owner = f.user("fb-owner", "content_owner")
    page = f.policy("Owned policy", body="Claims are paid within 10 working days.", owner=owner)
    PageFeedback.objects.create(page=page, helpful=False, kind="answer", search_id=uuid.uuid4())
    PageFeedback.objects.create(page=page, helpful=False)
    PageFeedback.objects.create(page=page, helpful=True, kind="answer", search_id=uuid.uuid4())
    request = rf.get("/admin/")
    request.user = owner
    row = PageFeedbackPanel(request).get_context_data()["pages"][0]
    assert (row.yes, row.no, row.answer_no) == (1, 2, 1)
