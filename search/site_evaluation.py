"""Relevance as users see it: a judged question set run through the real
search service, against the live index of the configured database, with the
pages' real trust states, as each question's viewer.

Each question is searched in each mode through ``parse_request`` and
``SearchService().search(request, user)`` (each ranked afresh), and
the pages shown are scored against the question's grades (3 the answer, 2
directly useful, 1 related):

- nDCG@10 over the grades (linear gains, as ``ndcg_at_k``);
- MRR@10, success@1 and success@3 on *the answer*: a page graded 3;
- "current first": the number of questions where a superseded or rescinded
  page shown in the first ten, and not itself graded 3, ranks above its
  successor or above a current page graded 3 (a page missing from the
  ranking counts as below every page in it).
"""

import dataclasses
import time

import numpy as np

from .backends import get_search_backend
from .evaluation import mrr_at_k, ndcg_at_k, percentile, success_at_k
from .judgements import JudgementError, SiteIndex
from .service import SearchError, SearchService, parse_request

MODES = ("lexical", "semantic", "hybrid")
OLD_STATES = ("superseded", "rescinded")
METRICS = ("ndcg@10", "mrr@10", "success@1", "success@3")
DEPTH = 50  # results ranked per question (scores use the first 10)


def _is_old(status, freshness):
    return status in OLD_STATES or freshness in OLD_STATES


def current_first_violation(shown, grades, successor_of, old_page_ids, k=10):
    """The first (old page id, page it outranks) where a superseded or
    rescinded page among the first ``k`` shown, not itself graded 3, ranks
    above its successor or above a current page graded 3; else None.
    ``shown`` is the ranked list of page ids, ``successor_of`` maps an old
    page to its successor, ``old_page_ids`` holds every superseded or
    rescinded page. A page absent from ``shown`` ranks below all of it."""
    position = {pid: i for i, pid in enumerate(shown)}
    below = len(shown)
    answers = [pid for pid, g in grades.items() if g == 3 and pid not in old_page_ids]
    for i, pid in enumerate(shown[:k]):
        if pid not in old_page_ids or grades.get(pid) == 3:
            continue
        successor = successor_of.get(pid)
        if successor is not None and position.get(successor, below) > i:
            return pid, successor
        for answer in answers:
            if position.get(answer, below) > i:
                return pid, answer
    return None


def _old_pages(index):
    """(ids of superseded or rescinded pages, {old page id: successor id})."""
    old, successor_of = set(), {}
    for pid, page in index.by_id.items():
        if _is_old(getattr(page, "status", ""), page.freshness):
            old.add(pid)
            successor = getattr(page, "superseded_by", None)
            if successor is not None and successor.live:
                successor_of[pid] = successor.pk
    return old, successor_of


def _auto_tags(question, grades, index):
    """Groups every question falls in besides its own tags: its viewer, and
    the trust state of each of its answers today (from the database, since
    states change with the date)."""
    states = sorted({index.by_id[pid].freshness for pid, g in grades.items() if g == 3})
    return [f"viewer:{question.viewer}"] + [f"answer:{s}" for s in states]


def _mean(rows, field):
    return round(float(np.mean([r[field] for r in rows])), 4) if rows else 0.0


def evaluate_site(questions, modes=MODES, backend_alias=None, progress_factory=None):
    """Run ``questions`` (``judgements.load_site_questions``) in each mode.
    Returns a report: per mode the figures, per category the figures, and
    per question what was shown. Raises ``JudgementError`` before searching
    if the set does not fit the site (unknown pages, pages a viewer may not
    open, unknown viewers, queries the service refuses)."""
    index = SiteIndex()
    prepared = []
    for q in questions:
        grades = index.grades_by_id(q)
        viewer = index.viewer(q.viewer)
        try:
            request = parse_request({"q": q.q})
        except SearchError as exc:
            raise JudgementError(f"{q.id}: the search service refuses the question: {exc}") from exc
        prepared.append((q, grades, viewer, request))
    old_pages, successor_of = _old_pages(index)
    backend = get_search_backend(backend_alias)
    service = SearchService(backend=backend)
    report = {"modes": {}, "categories": {}, "questions": {}}
    # every question is ranked afresh (there is no result cache)
    for mode in modes:
        rows, latencies = [], []

        def run_one(q, grades, viewer, request, mode=mode, rows=rows, latencies=latencies):
            started = time.perf_counter()
            response = service.search(dataclasses.replace(request, mode=mode, per_page=DEPTH), viewer)
            latencies.append((time.perf_counter() - started) * 1000)
            rows.append(_score(q, grades, response.results, index, old_pages, successor_of))

        if progress_factory:
            with progress_factory(len(prepared), f"Questions ({mode})") as bar:
                for item in prepared:
                    run_one(*item)
                    bar.advance()
        else:
            for item in prepared:
                run_one(*item)
        figures = {m: _mean(rows, m) for m in METRICS}
        figures["current_first_violations"] = sum(1 for r in rows if r["current_first"])
        figures["questions"] = len(rows)
        figures["p50_ms"] = round(percentile(latencies, 50), 2)
        figures["p95_ms"] = round(percentile(latencies, 95), 2)
        report["modes"][mode] = figures
        report["categories"][mode] = _by_category(rows)
        report["questions"][mode] = rows
    report["info"] = {
        "questions": len(prepared), "pages": len(index.by_id), "backend": backend.alias,
        "old_pages": len(old_pages), "depth": DEPTH,
    }
    return report


def _score(question, grades, results, index, old_pages, successor_of):
    shown = [r.page_id for r in results]
    violation = current_first_violation(shown, grades, successor_of, old_pages)
    answers = [pid for pid, g in grades.items() if g == 3]
    first_answer = next((i + 1 for i, pid in enumerate(shown) if grades.get(pid) == 3), None)
    return {
        "id": question.id,
        "q": question.q,
        "viewer": question.viewer,
        "tags": list(question.tags) + _auto_tags(question, grades, index),
        "expected": [index.key_of(pid) for pid in answers],
        "expected_states": [index.by_id[pid].freshness for pid in answers],
        "first_answer_rank": first_answer,
        "shown": [
            {"key": index.key_of(r.page_id), "title": r.title, "freshness": r.freshness, "status": r.status,
             "grade": grades.get(r.page_id, 0), "score": round(float(r.score), 6)}
            for r in results[:10]
        ],
        "ndcg@10": ndcg_at_k(shown, grades, 10),
        "mrr@10": mrr_at_k(shown, grades, 10, min_grade=3),
        "success@1": success_at_k(shown, grades, 1),
        "success@3": success_at_k(shown, grades, 3),
        "current_first": (
            {"old": index.key_of(violation[0]), "outranks": index.key_of(violation[1])} if violation else None
        ),
    }


def _by_category(rows):
    groups = {}
    for r in rows:
        for tag in r["tags"]:
            groups.setdefault(tag, []).append(r)
    out = {}
    for tag in sorted(groups, key=lambda t: (":" in t, t)):
        members = groups[tag]
        out[tag] = {"questions": len(members), **{m: _mean(members, m) for m in METRICS},
                    "current_first_violations": sum(1 for r in members if r["current_first"])}
    return out


def failing(rows):
    """Questions whose first result is not an answer, or that break "current first"."""
    return [r for r in rows if not r["success@1"] or r["current_first"]]
