"""How the service turns two retrievals' passage hits into ranked pages.

The rules, in plain words (``docs/architecture.md``, "Ranking"):

1. **A page is scored as a page.** Its score on each side is its best
   passage's (BM25, cosine similarity), plus a share (``AGGREGATE_DECAY``)
   of its next best ones. Every page has a title-and-summary passage of its
   own beside its body's (``SUMMARY_PASSAGE``). The shipped share is 0: adding
   the next two passages' scores measured 0.008 nDCG@10 worse on the site set.
2. **Relevance is calibrated before anything is mixed.** Each side's page
   scores are divided by the best page's score for this query, so the
   best page has 1.0 on each side whatever the engine's score scale (BM25
   from tantivy or Elasticsearch, cosine from faiss or kNN).
3. **Fusion** (``FUSION``): ``"rrf"`` (the default) is weighted reciprocal
   rank fusion (``RRF_K``) of the two calibrated orders; ``"convex"`` mixes
   the two calibrated scores, ``LEXICAL_WEIGHT`` and ``SEMANTIC_WEIGHT``
   summing to one. Convex won on the site set and lost on the passage
   collection (docs/architecture.md, "Ranking"), so RRF stays. A single-mode search uses its side's calibrated score.
4. **Trust decides between near-equals, never against a clear margin.**
   A page's trust state costs it a fixed amount of calibrated relevance
   (``TRUST_MARGIN``: e.g. 0.05 for overdue). A page ahead by more than
   that amount stays ahead; between pages closer than that, the fresher
   wins. The same rule in every mode and on every backend, since it works
   on calibrated scores the service computes itself.
5. **Old versions below current guidance, unless asked for.** A superseded
   or rescinded page costs more (``TRUST_MARGIN["superseded"]``) and is
   moved to just below its successor, unless the question asks for the old
   version: it names a year or version number that is in the old page's
   title and not in its successor's ("the 2019 rules"), or speaks of the
   past ("the old policy", "are ... still required") while the old page is
   within ``OLD_ASKED_WITHIN`` of the best relevance. An old page asked for
   costs nothing and stays where its relevance puts it (the result carries
   its notice and the successor's link). An old page shown whose
   successor matched nothing brings it in right above it
   (``successors.py``).
6. **Guidance before a lesson between near-equals.** A page's type costs
   it a margin too (``TYPE_MARGIN``: a lesson 0.1), in the same swaps as
   freshness: a lesson tells one case, the policy or procedure beside it
   states the rule. A lesson ahead by more stays ahead.
7. **Query-dependent weights** (``ADAPTIVE_WEIGHTS``, off): each side's
   fusion weight grows with its best page's lead over its second. It won on
   the listed questions and lost on the held-out ones, so it is off.
"""

import dataclasses
import re

from .analysis import analyse, words

#: words with which a question asks about an earlier version of guidance:
#: words of the old and of change, and the past tense of the verbs people
#: ask with ("why did we stop"); not "was", "did", "back" or "used", which
#: measured false alarms in present-day questions ("my laptop was stolen")
PAST_CUES = frozenset(
    "old older former formerly previous previously earlier still anymore withdrawn rescinded superseded replaced "
    "abolished scrapped stop stopped discontinued ago".split()
)
_NUMBERED = re.compile(r"\d")


@dataclasses.dataclass
class Candidate:
    """One page in the running: its calibrated relevance on each side, the
    fused relevance, the score it is ranked by, and the passage shown."""

    page_id: int
    hit: object
    lexical: float = 0.0
    semantic: float = 0.0
    relevance: float = 0.0
    score: float = 0.0
    asked_for: bool = False  # an old version the question asks about (rule 5)

    def metadata(self):
        return self.hit.metadata


def rrf(rankings, k=60, weights=None):
    """Reciprocal rank fusion: sum over rankings of w / (k + rank), rank from 1."""
    scores = {}
    for i, ranking in enumerate(rankings):
        w = 1.0 if weights is None else weights[i]
        for rank, key in enumerate(ranking, start=1):
            scores[key] = scores.get(key, 0.0) + w / (k + rank)
    return scores


def page_scores(hits, decay=0.0, depth=3):
    """({page_id: aggregated score}, {page_id: best hit}) from passage
    ``hits`` in descending score order: the best passage's score plus
    ``decay`` times the next, ``decay`` squared times the one after, up to
    ``depth`` passages of the page."""
    scores, best, seen = {}, {}, {}
    for h in hits:
        n = seen.get(h.page_id, 0)
        if n >= depth:
            continue
        if n == 0:
            best[h.page_id] = h
            scores[h.page_id] = float(h.score)
        else:
            scores[h.page_id] += (decay**n) * float(h.score)
        seen[h.page_id] = n + 1
    return scores, best


def calibrated(scores, method="max", floor=0.0):
    """``scores`` on a 0-1 scale where the best page has 1.0. ``"max"``:
    divided by the largest; ``"minmax"``: the smallest becomes 0;
    ``"floor"``: ``floor`` (e.g. the least cosine similarity that counts as
    a match) becomes 0. Empty or non-positive: unchanged."""
    top = max(scores.values(), default=0.0)
    if top <= 0:
        return dict(scores)
    low = {"max": 0.0, "minmax": min(scores.values()), "floor": min(floor, top)}[method]
    if top - low <= 0:
        return {k: 1.0 for k in scores}
    return {k: max(0.0, (v - low) / (top - low)) for k, v in scores.items()}


def confidence(scores):
    """How clearly a side's best page leads: 1 less the calibrated score of
    its second page (0 when two pages tie, 1 when only one matched)."""
    top = sorted(scores.values(), reverse=True)[:2]
    return 1.0 - (top[1] if len(top) > 1 else 0.0)


def fuse(mode, lexical, semantic, *, fusion="convex", weights=(0.5, 0.5), k=60, adaptive=0.0):
    """({page_id: score to rank by}, {page_id: calibrated relevance}) from
    calibrated side scores. ``weights`` are (lexical, semantic). Relevance
    is their convex mix (weights made to sum to one), what trust margins are
    measured on; the score to rank by is the same, or with ``fusion="rrf"``
    weighted reciprocal rank fusion of the two orders, calibrated."""
    if mode == "lexical":
        return dict(lexical), dict(lexical)
    if mode == "semantic":
        return dict(semantic), dict(semantic)
    w_lex, w_sem = weights
    if adaptive:
        w_lex, w_sem = w_lex * (1 + adaptive * confidence(lexical)), w_sem * (1 + adaptive * confidence(semantic))
    total = (w_lex + w_sem) or 1.0
    relevance = {
        p: (w_lex * lexical.get(p, 0.0) + w_sem * semantic.get(p, 0.0)) / total for p in set(lexical) | set(semantic)
    }
    if fusion == "rrf":
        order = [sorted(side, key=lambda p, s=side: (-s[p], p)) for side in (lexical, semantic)]
        return calibrated(rrf(order, k=k, weights=[w_lex, w_sem])), relevance
    return dict(relevance), relevance


def is_old(metadata):
    return metadata.get("status") in OLD_STATES or metadata.get("freshness") in OLD_STATES


OLD_STATES = ("superseded", "rescinded")


def _numbers(title):
    return {t for t in analyse(title) if _NUMBERED.search(t)}


def asks_for_old(query, old_title, successor_title="", near_top=True):
    """Whether ``query`` asks about an old version of guidance titled
    ``old_title`` (superseded by one titled ``successor_title``): it names a
    year or number of the old title that the successor's lacks, or it uses
    a word of the past (``PAST_CUES``) and the old page is ``near_top``
    (among the best matches: "the old policy" alone names no page)."""
    distinct = _numbers(old_title) - _numbers(successor_title)
    if distinct & set(analyse(query)):
        return True
    return near_top and bool({w for w, _s, _e in words(query)} & PAST_CUES)


def old_cost(metadata, margins, asked_for=False):
    """What being an old version costs a page: nothing if asked for."""
    if not is_old(metadata) or asked_for:
        return 0.0
    return max(margins.get(metadata.get("status", ""), 0.0), margins.get(metadata.get("freshness", ""), 0.0))


def freshness_cost(metadata, margins):
    """The relevance margin a current page's freshness state gives up."""
    return 0.0 if is_old(metadata) else margins.get(metadata.get("freshness", ""), 0.0)


def trust_cost(candidate, margins, type_margins=None):
    """What a candidate's trust state costs it between near-equals: its
    freshness margin, or for an old version its old-version cost (nothing
    if asked for), so that an old page never swaps above a stale current one."""
    if is_old(candidate.metadata()):
        return old_cost(candidate.metadata(), margins, candidate.asked_for)
    kind = (type_margins or {}).get(candidate.metadata().get("content_type", ""), 0.0)
    return freshness_cost(candidate.metadata(), margins) + kind


def rank(candidates, margins, near_top_margin, query="", type_margins=None):
    """Order ``candidates`` (Candidates with ``score`` to rank by and
    ``relevance`` set): by score less any old-version cost (ties by page
    id); then, between neighbours whose relevance differs by less than the
    freshness margin between them, the fresher first; then the successor
    rule. An old page is "near the top" within ``near_top_margin`` of the
    best relevance."""
    by_id = {c.page_id: c for c in candidates}
    best = max((c.relevance for c in candidates), default=0.0)
    asked = set()
    for c in candidates:
        if is_old(c.metadata()):
            successor = by_id.get(c.metadata().get("successor_id"))
            near_top = c.relevance >= best - near_top_margin
            if asks_for_old(query, c.hit.title, successor.hit.title if successor else "", near_top):
                asked.add(c.page_id)
        c.asked_for = c.page_id in asked
        c.score -= old_cost(c.metadata(), margins, c.asked_for)
    candidates.sort(key=lambda c: (-c.score, c.page_id))
    _fresher_first(candidates, margins, type_margins)
    for old in [c for c in candidates if c.metadata().get("successor_id")]:
        successor = by_id.get(old.metadata()["successor_id"])
        if successor is None or old.page_id in asked:
            continue  # no successor in the running, or the old page is what was asked for
        position = {c.page_id: i for i, c in enumerate(candidates)}
        if position[successor.page_id] > position[old.page_id]:
            candidates.remove(old)
            candidates.insert(position[successor.page_id], old)  # the successor moved up by one
    return candidates


def _fresher_first(candidates, margins, type_margins=None, passes=3):
    """Swap neighbours where the upper page's trust state costs more than the
    lower's and its relevance leads by less than the difference. A few
    passes let a page move past a short run of near-equals."""
    costs = [trust_cost(c, margins, type_margins) for c in candidates]
    for _ in range(passes):
        swapped = False
        for i in range(len(candidates) - 1):
            upper, lower = candidates[i], candidates[i + 1]
            gap = costs[i] - costs[i + 1]
            if gap > 0 and upper.relevance - lower.relevance < gap:
                candidates[i], candidates[i + 1] = lower, upper
                costs[i], costs[i + 1] = costs[i + 1], costs[i]
                swapped = True
        if not swapped:
            return
