"""Retrieval and answer evaluation.

- BEIR-format collections: loaded through the same chunking, embedding and
  indexing code as site content, into a scratch namespace that never mixes
  with it, and every query goes through the same search service.
- The metrics, shared with the site evaluation (``site_evaluation.py``).
- Answers (issue 23): ``evaluate_answers`` scores any answerer against a
  judged answer set (``judgements.load_answer_questions``).
"""

import html
import json
import math
import re
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from .backends import get_search_backend
from .extract import Section
from .indexing import chunk_records
from .judgements import JudgementError, SiteIndex
from .service import SearchRequest, SearchService, parse_request


class CollectionError(ValueError):
    pass


def read_jsonl(path):
    items = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise CollectionError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
    return items


def load_collection(directory, split="test"):
    """(corpus {id: (title, text)}, queries {id: text}, qrels {qid: {docid: grade}})."""
    d = Path(directory)
    for needed in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (d / needed).exists():
            raise CollectionError(f"{d / needed} is missing (expected a BEIR-format directory)")
    corpus = {str(o["_id"]): (o.get("title", ""), o.get("text", "")) for o in read_jsonl(d / "corpus.jsonl")}
    queries = {str(o["_id"]): o["text"] for o in read_jsonl(d / "queries.jsonl")}
    qrels = {}
    with open(d / "qrels" / f"{split}.tsv", encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            parts = line.rstrip("\n").split("\t")
            if n == 1 and not parts[-1].lstrip("-").isdigit():
                continue  # header
            if len(parts) < 3:
                raise CollectionError(f"qrels line {n}: expected query-id, corpus-id, score")
            qid, did, grade = parts[0], parts[1], int(parts[-1])
            qrels.setdefault(qid, {})[did] = grade
    queries = {q: t for q, t in queries.items() if q in qrels}
    return corpus, queries, qrels


# --- metrics -----------------------------------------------------------------
def ndcg_at_k(ranked, grades, k=10):
    """nDCG@k with linear gains (as BEIR's pytrec_eval): sum rel / log2(rank + 1)."""
    dcg = sum(grades.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in grades.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranked, grades, k=100):
    relevant = {d for d, g in grades.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr_at_k(ranked, grades, k=10, min_grade=1):
    """1 / rank of the first document graded ``min_grade`` or more in the
    first ``k`` (0 if none)."""
    for i, doc in enumerate(ranked[:k]):
        if grades.get(doc, 0) >= min_grade:
            return 1.0 / (i + 1)
    return 0.0


def success_at_k(ranked, grades, k, min_grade=3):
    """1.0 if a document graded ``min_grade`` or more (the answer) is in the first ``k``."""
    return 1.0 if any(grades.get(doc, 0) >= min_grade for doc in ranked[:k]) else 0.0


def percentile(values, p):
    return float(np.percentile(np.asarray(values, dtype=np.float64), p)) if values else 0.0


# --- running -----------------------------------------------------------------
def index_collection(corpus, namespace, backend, embedder=None, progress=None, batch=32):
    ids = {}
    for n, (doc_id, (title, text)) in enumerate(corpus.items(), start=1):
        ids[n] = doc_id
        paragraphs = [p for p in text.split("\n\n") if p.strip()] or [text]
        sections = [Section("", p) for p in paragraphs]
        meta = {
            "content_type": "policy", "topics": [], "units": [], "status": "current", "audience": "public",
            "freshness": "fresh", "access": ["public"], "url": f"beir:{doc_id}", "unit_name": "",
        }
        records, _ = chunk_records(n, title or "", "", sections, meta, namespace=namespace, backend=backend, embedder=embedder)
        backend.index_page(namespace, n, records)
        if progress:
            progress()
    return ids


def score_collection(service, queries, qrels, ids, modes, progress_factory=None):
    """{mode: figures} for a collection already indexed in ``service``'s
    namespace (``ids``: position -> document id, from ``index_collection``)."""
    report = {}
    for mode in modes:
        scores = {"ndcg@10": [], "recall@100": [], "mrr@10": []}
        latencies = []

        def run_one(qid, text, mode=mode, scores=scores, latencies=latencies):
            request = SearchRequest(q=text, mode=mode, per_page=100)
            started = time.perf_counter()
            response = service.search(request, access=["public"])
            latencies.append((time.perf_counter() - started) * 1000)
            ranked = [ids[r.page_id] for r in response.results]
            grades = qrels[qid]
            scores["ndcg@10"].append(ndcg_at_k(ranked, grades))
            scores["recall@100"].append(recall_at_k(ranked, grades))
            scores["mrr@10"].append(mrr_at_k(ranked, grades))

        items = list(queries.items())
        if progress_factory:
            with progress_factory(len(items), f"Queries ({mode})") as bar:
                for qid, text in items:
                    run_one(qid, text)
                    bar.advance()
        else:
            for qid, text in items:
                run_one(qid, text)
        report[mode] = {k: round(float(np.mean(v)), 4) for k, v in scores.items()}
        report[mode]["p50_ms"] = round(percentile(latencies, 50), 2)
        report[mode]["p95_ms"] = round(percentile(latencies, 95), 2)
    return report


def evaluate(directory, modes=("lexical", "semantic", "hybrid"), backend_alias=None, progress_factory=None, split="test"):
    corpus, queries, qrels = load_collection(directory, split)
    backend = get_search_backend(backend_alias)
    namespace = f"eval-{uuid.uuid4().hex[:10]}"
    try:
        if progress_factory:
            with progress_factory(len(corpus), "Indexing collection") as bar:
                ids = index_collection(corpus, namespace, backend, progress=bar.advance)
        else:
            ids = index_collection(corpus, namespace, backend)
        if hasattr(backend, "refresh"):
            backend.refresh(namespace)
        service = SearchService(backend=backend, namespace=namespace)
        report = score_collection(service, queries, qrels, ids, modes, progress_factory)
        return report, {"documents": len(corpus), "queries": len(queries), "namespace": namespace}
    finally:
        backend.drop_namespace(namespace)


# --- answers (issue 23) --------------------------------------------------------
_DASHES = re.compile(r"[\-\u2010-\u2015]")


def normalise_fact_text(text):
    """Lower case, dashes read as spaces, runs of white space as one."""
    return " ".join(_DASHES.sub(" ", str(text).lower()).split())


def holds_facts(text, facts):
    """Whether ``text`` holds every fact, each fact being satisfied by any of
    its acceptable variants."""
    haystack = normalise_fact_text(text)
    return all(any(normalise_fact_text(v) in haystack for v in variants) for variants in facts)


def evaluate_answers(questions, answer_fn, index=None):
    """Score ``answer_fn(question_text, viewer) -> None or {"page": key, "text": str}``
    on judged answer questions. ``viewer`` is the user the question is asked as
    (``AnonymousUser`` for anonymous); ``key`` a page slug or URL path.

    An answer is *right* when it comes from a listed page and holds every
    fact. Reported: on answerable questions the share shown and the share of
    those shown that are right; on unanswerable ones the share shown; and
    ``leaks``, answers from a page the viewer may not open (must be 0)."""
    index = index or SiteIndex()
    prepared = []
    for q in questions:
        viewer = index.viewer(q.viewer)
        pages = {index.resolve_visible(key, q) for key in q.pages}
        prepared.append((q, viewer, pages))
    rows = []
    for q, viewer, pages in prepared:
        answer = answer_fn(q.q, viewer)
        row = {"id": q.id, "q": q.q, "viewer": q.viewer, "answerable": q.answerable, "tags": list(q.tags),
               "expected_pages": list(q.pages), "facts": [list(f) for f in q.facts],
               "shown": answer is not None, "page": None, "text": None, "right": False, "leak": False}
        if answer is not None:
            if not isinstance(answer, dict) or "page" not in answer or "text" not in answer:
                raise TypeError(f"{q.id}: the answerer must return None or a dict with 'page' and 'text'")
            row["page"], row["text"] = str(answer["page"]), str(answer["text"])
            try:
                page_id = index.resolve(row["page"], q.id)
            except JudgementError:
                page_id = None
            row["leak"] = page_id is not None and not index.visible(page_id, q.viewer)
            row["right"] = q.answerable and page_id in pages and holds_facts(row["text"], q.facts)
        rows.append(row)
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    shown = [r for r in answerable if r["shown"]]
    right = [r for r in shown if r["right"]]
    summary = {
        "answerable": len(answerable),
        "answerable_shown": len(shown),
        "shown_rate": _rate(len(shown), len(answerable)),
        "right_when_shown": _rate(len(right), len(shown)),
        "right_rate": _rate(len(right), len(answerable)),
        "unanswerable": len(unanswerable),
        "unanswerable_shown": sum(r["shown"] for r in unanswerable),
        "unanswerable_shown_rate": _rate(sum(r["shown"] for r in unanswerable), len(unanswerable)),
        "leaks": sum(r["leak"] for r in rows),
    }
    return {"summary": summary, "questions": rows}


def _rate(n, d):
    return round(n / d, 4) if d else 0.0


_TAGS = re.compile(r"<[^>]+>")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def first_sentence(snippet_html):
    """The first sentence of an escaped, highlighted snippet, as plain text."""
    text = " ".join(html.unescape(_TAGS.sub("", snippet_html or "")).split())
    return _SENTENCE.split(text, maxsplit=1)[0] if text else ""


def baseline_answerer(question, viewer):
    """A BASELINE, not the answer card: the first sentence of the top hybrid
    result's snippet, for any question with a result. It shows that the
    harness works and what a card that never refuses would score."""
    response = SearchService().search(parse_request({"q": question}), viewer)
    if not response.results:
        return None
    top = response.results[0]
    return {"page": urlparse(top.url).path or top.url, "text": first_sentence(top.snippet_html)}
