"""Scoring the sentences of matched passages against a question, for the
answer card (``answers.py`` applies the refusal rules and the threshold).

A sentence's score, in plain words (weights below; docs/answers.md):

- how close its meaning is to the question's (cosine of the query's and the
  sentence's vectors, same model as search);
- the share of the question's key terms it holds, each term weighted by how
  rare it is among the sentences read, and (less) the share found only in
  its section heading or page title;
- whether it holds the kind of thing asked for (``questions.holds_kind``) and
  every number the question gives;
- a little for the page's rank;
- less when it describes the page rather than states a rule (the page's
  summary, "This procedure explains ...");
- less for the share of key terms (weighted the same way) found in none of
  the current passages read: what is asked about is not in the guidance.
"""

import dataclasses
import functools
import math
import re

import numpy as np

from .analysis import analyse
from .questions import holds_kind, holds_numbers
from .sentences import sentence_vectors

# weights of the score's parts; the threshold (answers.MIN_CONFIDENCE) is on this scale
W_LEXICAL, W_HEADING, W_KIND, W_RANK, W_MISSING = 0.45, 0.2, 0.22, 0.15, 0.3
W_ABOUT = 0.15  # a sentence about the page itself
IDF_POWER = 1.0  # how sharply a rare key term outweighs a common one
OLD_STATES = ("superseded", "rescinded")

_NEEDS_CONTEXT = re.compile(r"^(this|these|that|those|it|its|they|them|their|such|he|she|the same|here|there|"
                            r"also|however|otherwise|in that case|if so)\b", re.I)
# a sentence about the page, not a rule in it ("This procedure explains how ...")
# (but "This policy was rescinded on 30 June 2025" states a fact)
_ABOUT_PAGE = re.compile(r"^(this|the) (policy|procedure|guidance|standard|page|document|guide) (explains|sets out|"
                         r"describes|covers|applies|makes sure|ensures|is for|helps|gives|shows|tells|outlines|"
                         r"defines|lists|sets)\b", re.I)
SUMMARY_SOURCE = "summary"  # indexing.SUMMARY_SOURCE: the page's title-and-summary passage
# "Heading: " a short sub-section's heading carried into a chunk
_PREFIX = re.compile(r"^((?:Step \d+: )?[A-Z][^.:;!?]{1,60}): (?=\S)")
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
# facts the indexer writes before a page's text, not sentences of it
# (extract.page_sections: a policy's legal status, a lesson's project line)
_LEADING_FACT = re.compile(rf"^(?:Effective from \d{{1,2}} (?:{_MONTHS}) \d{{4}}|.{{3,160}}?, (?:{_MONTHS}) \d{{4}}) (?=[A-Z])")
_FACT_SENTENCE = re.compile(r"^(?:Reference [A-Z]+-|Status: |Legal basis: |Legal status: |Responsible role: \S+$)")


@dataclasses.dataclass
class Candidate:
    score: float
    sentence: str
    text: str
    heading: str
    rank: int
    hit: object
    parts: dict = dataclasses.field(default_factory=dict)  # the score's parts, for explaining it
    vector: object = None  # the sentence's vector

    @property
    def is_old(self):
        return is_old(self.hit)


def is_old(hit):
    meta = hit.metadata
    return meta.get("status") in OLD_STATES or meta.get("freshness") in OLD_STATES


def heading_of(sentence, heading):
    """(section heading, the sentence as the page shows it). A procedure
    step's heading carried into the chunk ("Step 2: Lock the device: ...")
    is the section, not part of the sentence; a list item's own lead-in
    ("Security Check (SC): ...") stays, since the page shows it so."""
    m = _PREFIX.match(sentence)
    if m and m.group(1).startswith("Step "):
        heading, sentence = m.group(1), sentence[m.end():]
    elif m and m.group(1) == "Responsible role":
        sentence = sentence[m.end():]
    if sentence.startswith(("Project: ", "Effective from ")):
        sentence = _LEADING_FACT.sub("", sentence.removeprefix("Project: "), count=1)
    return heading, sentence


@functools.lru_cache(maxsize=50_000)
def stems(text):
    """The analysed terms of a sentence or heading (sentences repeat from
    search to search: analysing them was half the card's time)."""
    return frozenset(analyse(text))


def covered(groups, found, weights=None):
    """Share of the question's key terms (each with its synonyms) in
    ``found``, each term weighted by how rare it is among the sentences
    read (``weights``), so the word that makes the question specific
    counts most."""
    if not groups:
        return 0.0
    weights = weights or [1.0] * len(groups)
    got = sum(w for alts, w in zip(groups, weights) if any(alt <= found for alt in alts))
    return got / sum(weights)


def rarity(groups, stem_sets):
    """Inverse document frequency of each key term over ``stem_sets``."""
    n = len(stem_sets)
    return [math.log(1 + (n + 1) / (1 + sum(any(alt <= s for alt in alts) for s in stem_sets))) ** IDF_POWER
            for alts in groups]


@dataclasses.dataclass
class _Row:
    rank: int
    hit: object
    heading: str
    sentence: str
    text: str
    cosine: float
    stems: frozenset
    context: frozenset
    vector: object
    about: bool


def _rows(passages, vectors, query):
    rows, seen = [], set()
    for rank, hit in passages:
        sentences, matrix = vectors[hit.text]
        if not sentences:
            continue
        cosines = matrix @ query
        heading = hit.heading
        context = stems(heading) | stems(hit.title)
        summary = hit.metadata.get("source") == SUMMARY_SOURCE
        for i, raw in enumerate(sentences):
            if _FACT_SENTENCE.match(raw):
                continue
            heading, sentence = heading_of(raw, heading)
            if (hit.page_id, sentence) in seen or len(sentence) < 12:
                continue
            seen.add((hit.page_id, sentence))
            text = sentence
            if (_NEEDS_CONTEXT.match(sentence) and i > 0 and sentence == raw
                    and not _FACT_SENTENCE.match(sentences[i - 1])):
                text = f"{heading_of(sentences[i - 1], heading)[1]} {sentence}"
            rows.append(_Row(rank, hit, heading, sentence, text, float(cosines[i]), stems(sentence),
                             context | stems(heading), matrix[i], summary or bool(_ABOUT_PAGE.match(sentence))))
    return rows


def score_sentences(question, query_vector, passages, embedder):
    """Every sentence of ``passages`` [(rank, hit)] scored, best first."""
    vectors = sentence_vectors([h.text for _r, h in passages], embedder)
    rows = _rows(passages, vectors, np.asarray(query_vector, dtype=np.float32))
    if not rows:
        return []
    groups = question.groups
    weights = rarity(groups, [r.stems for r in rows])
    # key terms found in none of the passages read: what is asked about is
    # not in the guidance the viewer may see (for a current page, not in
    # current guidance: an old page naming it does not make it answered)
    everywhere = set().union(*(r.stems | r.context for r in rows))
    current = set().union(set(), *(r.stems | r.context for r in rows if not is_old(r.hit)))
    missing = {True: 1.0 - covered(groups, everywhere, weights), False: 1.0 - covered(groups, current, weights)}
    asks_kind = bool(question.wants or question.numbers)
    out = []
    for r in rows:
        lexical = covered(groups, r.stems, weights)
        in_heading = covered(groups, r.stems | r.context, weights) - lexical
        kind = (holds_kind(question, r.sentence, r.context | stems(r.hit.metadata.get("unit_name", "")))
                and holds_numbers(question, r.sentence))
        gone = missing[is_old(r.hit)]
        score = (r.cosine + W_LEXICAL * lexical + W_HEADING * in_heading
                 + (W_KIND if kind else -W_KIND if asks_kind else 0.0)
                 + W_RANK / (1 + r.rank) - W_ABOUT * r.about - W_MISSING * gone)
        out.append(Candidate(score, r.sentence, r.text, r.heading, r.rank, r.hit, {
            "cosine": r.cosine, "lexical": lexical, "heading": in_heading, "kind": kind, "missing": gone,
            "about": r.about}, r.vector))
    out.sort(key=lambda c: -c.score)
    return out
