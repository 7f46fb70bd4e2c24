"""Retrieval evaluation on BEIR-format collections.

A collection is loaded through the same chunking, embedding and indexing
code as site content, into a scratch namespace that never mixes with it, and
every query goes through the same search service.
"""

import json
import math
import time
import uuid
from pathlib import Path

import numpy as np

from .backends import get_search_backend
from .extract import Section
from .indexing import chunk_records
from .service import SearchRequest, SearchService


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


def mrr_at_k(ranked, grades, k=10):
    for i, doc in enumerate(ranked[:k]):
        if grades.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


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
        return report, {"documents": len(corpus), "queries": len(queries), "namespace": namespace}
    finally:
        backend.drop_namespace(namespace)
