"""The answer card (issue 23): a sentence or two taken word for word from
current guidance the viewer may open, above the results, or an honest
refusal.

The rule, in plain words:

- Only the passages the search service matched on the first page of
  results are read (``SearchResponse.passages``): they are already under the
  viewer's access filter, so nothing the viewer may not open is ever read.
- Each passage is split into sentences (``sentences.py``); every sentence is
  scored against the question with the same embedding model as search
  (cosine of the query's vector and the sentence's), plus the share of the
  question's key terms the sentence (or its section heading) holds, plus
  whether it holds the kind of thing asked for (a number or duration for
  "how many / how long / when", a form code for "which form", a phone number
  or extension for "what number"), plus a little for the page's rank.
- A sentence that needs the one before it to make sense (it starts with
  "This", "It", "They", ...) is shown with it.
- One threshold (``KM_ANSWERS["MIN_CONFIDENCE"]``) decides: below it no card
  (the search counts as unanswered). It was calibrated on the judged set
  (``bench/answers.py --calibrate``; see docs/answers.md).
- Superseded or rescinded guidance is never presented as current: a
  question that does not ask about an old version gets no card from it
  (a notice points to the successor instead); one that does ("in the 2019
  policy", "did", "still") gets the card marked with its state.
- An overdue page's answer carries a visible warning.
"""

import dataclasses
import logging

from django.conf import settings

from .answer_scoring import OLD_STATES, is_old, score_sentences
from .embeddings import get_embedder
from .lru import LRUCache
from .questions import read_question
from .sentences import split_sentences
from .service import load_synonyms

logger = logging.getLogger("govkm.search")
DEFAULTS = {
    "ENABLED": True,
    "MIN_CONFIDENCE": 0.90,  # calibrated: search_eval --answers tests/data/answer_questions.yaml --calibrate
    "PAGES": 5,  # results read, from the top
    "PASSAGES_PER_PAGE": 6,
    # guidance answers; lessons learned tell what happened once, not the rule
    "CONTENT_TYPES": ("policy", "procedure"),
}
WARN_STATES = {
    "overdue": "This page is overdue for review: check the answer with its owning unit before relying on it.",
    "needs_review": "This page has been flagged for review: check the answer with its owning unit before relying on it.",
}
TRUST_LABELS = {
    "fresh": "Up to date", "due_soon": "Review due soon", "overdue": "Overdue for review",
    "needs_review": "Needs review", "superseded": "Superseded", "rescinded": "Rescinded",
}
def conf(name):
    return {**DEFAULTS, **getattr(settings, "KM_ANSWERS", {})}[name]


@dataclasses.dataclass
class Answer:
    """The card: ``text`` is word for word from the page."""

    text: str
    sentence: str  # the sentence that answers (highlighted on the page)
    page_id: int
    title: str
    url: str
    section: str
    content_type: str
    status: str
    freshness: str
    unit_name: str
    last_reviewed: str | None
    revision_id: int | None
    confidence: float
    successor: dict | None = None
    in_force_since: str | None = None  # policies: ISO date
    warning: str = ""

    @property
    def trust_label(self):
        return TRUST_LABELS.get(self.freshness, self.freshness)

    @property
    def is_old(self):
        return self.status in OLD_STATES or self.freshness in OLD_STATES

    @property
    def last_reviewed_day(self):
        return _day(self.last_reviewed)

    @property
    def in_force_day(self):
        return _day(self.in_force_since)

    @property
    def anchor_url(self):
        return highlight_url(self.url, self.sentence)

    def as_dict(self):
        return {
            "text": self.text, "page_id": self.page_id, "title": self.title, "url": self.anchor_url,
            "section": self.section, "trust_state": self.freshness, "status": self.status,
            "confidence": round(self.confidence, 3), "revision_id": self.revision_id,
            "unit": self.unit_name, "last_reviewed": self.last_reviewed, "in_force_since": self.in_force_since,
            "warning": self.warning or None, "successor": dict(self.successor) if self.successor else None,
        }


@dataclasses.dataclass
class Outcome:
    """What the card area shows: an answer, or why not (``refusal``:
    "low_confidence", "superseded", "no_results", "off")."""

    answer: Answer | None = None
    refusal: str = ""
    confidence: float = 0.0
    old_page: dict | None = None  # superseded refusal: {"title", "url", "successor"}


def _day(value):
    import datetime

    try:
        return datetime.datetime.fromisoformat(value).date() if value else None
    except ValueError:
        return None


def highlight_url(url, sentence):
    """The page's URL with the sentence to highlight (``?hl=``) and the
    anchor the page's script puts on it (``#answer``); see
    ``kmsite/static/js/answer-highlight.js``."""
    from urllib.parse import quote

    return f"{url}?hl={quote(sentence[:300], safe='')}#answer"


def _passages(response, pages):
    """(rank, hit) of the passages matched on the first ``pages`` results
    that are guidance (``CONTENT_TYPES``), at most ``PASSAGES_PER_PAGE`` a page."""
    types = conf("CONTENT_TYPES")
    rank = {r.page_id: i for i, r in enumerate(response.results[:pages]) if r.content_type in types}
    chosen, seen, per_page = [], set(), {}
    for h in response.passages:
        key = (h.page_id, h.position)
        if h.page_id not in rank or key in seen or per_page.get(h.page_id, 0) >= conf("PASSAGES_PER_PAGE"):
            continue
        seen.add(key)
        per_page[h.page_id] = per_page.get(h.page_id, 0) + 1
        chosen.append((rank[h.page_id], h))
    return chosen


def _matches_old_version(question, hit):
    """An old page the question names: a year it asks about in its title."""
    return any(y in hit.title for y in question.years)


def _usable(question, candidates):
    """The candidates a card may come from: current pages only, unless the
    question asks about an old version (then an old page it names by year
    comes first; other old pages compete as they are)."""
    if question.old_intent:
        named = [c for c in candidates if is_old(c.hit) and _matches_old_version(question, c.hit)]
        return named or candidates
    return [c for c in candidates if not is_old(c.hit)]


def _result(response, page_id):
    return next((r for r in response.results if r.page_id == page_id), None)


# --- the card ------------------------------------------------------------------
def answer_for(response):
    """The one call views make: ``answer_search``, but a failure here
    (a cache or model error) costs the card, never the search."""
    try:
        return answer_search(response)
    except Exception:
        logger.exception("the answer card failed; results are shown without it")
        return Outcome(refusal="error")


def answer_search(response, *, embedder=None, min_confidence=None):
    """The card for a search already made (``SearchService.search``) or why
    there is none. Reads nothing the response does not hold, apart from a
    policy's "in force since" date."""
    if not conf("ENABLED"):
        return Outcome(refusal="off")
    request = response.request
    if request.page != 1 or not response.results:
        return Outcome(refusal="no_results")
    threshold = conf("MIN_CONFIDENCE") if min_confidence is None else min_confidence
    embedder = embedder or get_embedder()
    vector = response.query_vector
    if vector is None:
        vector = embedder.embed_query(request.q)
    question = read_question(request.q, load_synonyms())
    candidates = score_sentences(question, vector, _passages(response, conf("PAGES")), embedder)
    if not candidates:
        return Outcome(refusal="low_confidence")
    usable = _usable(question, candidates)
    best = usable[0] if usable else None
    overall = candidates[0]
    if (best is None or best.score < threshold) and overall.score >= threshold and is_old(overall.hit):
        old = _result(response, overall.hit.page_id)
        return Outcome(refusal="superseded", confidence=overall.score, old_page={
            "title": overall.hit.title, "url": overall.hit.metadata.get("url", ""),
            "status": overall.hit.metadata.get("status", ""),
            "successor": old.successor if old is not None else None})
    if best is None or best.score < threshold:
        return Outcome(refusal="low_confidence", confidence=best.score if best else overall.score)
    return Outcome(answer=_card(best, response), confidence=best.score)


def _card(c, response):
    meta = c.hit.metadata
    result = _result(response, c.hit.page_id)
    freshness = meta.get("freshness", "")
    return Answer(
        text=c.text, sentence=c.sentence, page_id=c.hit.page_id, title=c.hit.title, url=meta.get("url", ""),
        section=c.heading, content_type=meta.get("content_type", ""), status=meta.get("status", ""),
        freshness=freshness, unit_name=meta.get("unit_name", ""), last_reviewed=meta.get("last_reviewed"),
        revision_id=meta.get("revision_id"), confidence=c.score,
        successor=result.successor if result is not None else None,
        in_force_since=(_in_force_since(c.hit.page_id, meta.get("revision_id"))
                        if meta.get("content_type") == "policy" else None),
        warning=WARN_STATES.get(freshness, ""),
    )


_IN_FORCE = LRUCache(4096)


def _in_force_since(page_id, revision_id):
    """A policy's effective date, remembered per revision (a query per
    card cost more than the rest of the card on a loaded machine)."""
    from knowledge.models import PolicyPage

    key = (page_id, revision_id)
    value = _IN_FORCE.get(key)
    if value is None:
        day = PolicyPage.objects.filter(pk=page_id).values_list("effective_date", flat=True).first()
        value = day.isoformat() if day else ""
        _IN_FORCE.put(key, value)
    return value or None


# --- for the evaluation ----------------------------------------------------------
def card_answerer(question, viewer):
    """``search_eval --answers FILE --answerer search.answers.card_answerer``:
    the card as the search page shows it (None when refused)."""
    from urllib.parse import urlparse

    from .service import SearchService, parse_request

    outcome = answer_search(SearchService().search(parse_request({"q": question}), viewer))
    if outcome.answer is None:
        return None
    a = outcome.answer
    return {"page": urlparse(a.url).path or a.url, "text": a.text, "confidence": round(outcome.confidence, 4)}


__all__ = ["Answer", "Outcome", "answer_search", "card_answerer", "read_question", "split_sentences"]
