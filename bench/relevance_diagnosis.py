"""Why site questions fail: each question of a judged site set is ranked
in every mode as it is, and again with trust margins off (TRUST_MARGIN),
and its answer's page is also ranked by a title-and-summary vector (the
page's own signals, which today's index does not carry). Each question whose
first hybrid result is not an answer gets the reasons that fit:

- demotion: with the demotion off, an answer comes first;
- near miss: an answer is at rank 2-3;
- lexical noise: semantic search alone (no demotion) puts an answer first,
  hybrid does not, and lexical search has no answer in its top 3;
- semantic outvotes: lexical search alone puts an answer first, semantic
  search does not, and hybrid (semantic weight 2) follows semantic;
- semantic miss: neither retrieval alone has an answer in its top 3;
- page signal: the title-and-summary vector ranks an answer first while
  the best passage (semantic, no demotion) does not;
- old version: the question asks about an old version, which the
  demotion keeps down;
- successor rule: the answer is a superseded page and, with the demotion
  off, its successor is ranked directly above it (the service never shows
  a superseded page above its successor, even when it is the one asked about).

Per mode it also counts the failures (first result not an answer) that the
demotion causes, and the near misses (answer at 2-3) whose answer is stale.

Runs against the configured database's live index, like
``search_eval --site``; it changes no setting of the running site (the
demotion is switched off inside this process only).

    KM_QUERY_RUNTIME=onnx .venv/bin/python bench/relevance_diagnosis.py tests/data/site_questions.yaml [--json out.json]
"""

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmsite.settings.dev")


def _rank_of(ranked, answers):
    return next((i + 1 for i, key in enumerate(ranked) if key in answers), None)


def page_signal_ranks(questions, index):
    """{question id: rank of its best answer among the pages its viewer may
    see, by cosine between the query and "title. summary"}."""
    import numpy as np

    from search.embeddings import get_embedder
    from search.service import load_synonyms

    embedder = get_embedder()
    ids = sorted(index.by_id)
    texts = [f"{index.by_id[i].title}. {index.by_id[i].summary}" for i in ids]
    matrix = np.asarray(embedder.embed_documents(texts), dtype=np.float32)
    synonyms = load_synonyms()
    out = {}
    for q in questions:
        vector = np.asarray(embedder.embed_query(synonyms.expand_query(q.q)), dtype=np.float32)
        scores = matrix @ vector
        order = [ids[j] for j in np.argsort(-scores) if index.visible(ids[j], q.viewer)]
        answers = {index.resolve(k, q.id) for k, g in q.grades.items() if g == 3}
        out[q.id] = _rank_of(order, answers)
    return out


def diagnose(path):
    import django

    django.setup()
    from django.conf import settings
    from django.test import override_settings

    from search.judgements import SiteIndex, load_site_questions
    from search.site_evaluation import evaluate_site

    questions = load_site_questions(path)
    base = evaluate_site(questions)
    with override_settings(KM_SEARCH={**settings.KM_SEARCH, "TRUST_MARGIN": {}}):  # trust off
        flat = evaluate_site(questions)
    index = SiteIndex()
    signal = page_signal_ranks(questions, index)
    by_id = {q.id: q for q in questions}

    def rows(report, mode):
        return {r["id"]: r for r in report["questions"][mode]}

    hybrid, lexical, semantic = rows(base, "hybrid"), rows(base, "lexical"), rows(base, "semantic")
    flat_hybrid, flat_semantic, flat_lexical = rows(flat, "hybrid"), rows(flat, "semantic"), rows(flat, "lexical")
    found = []
    for qid, r in hybrid.items():
        if r["success@1"]:
            continue
        reasons = []
        rank = r["first_answer_rank"]
        if flat_hybrid[qid]["success@1"]:
            reasons.append("demotion")
        if rank in (2, 3):
            reasons.append("near miss")
        lex_rank, sem_rank = flat_lexical[qid]["first_answer_rank"], flat_semantic[qid]["first_answer_rank"]
        if sem_rank == 1 and (lex_rank is None or lex_rank > 3):
            reasons.append("lexical noise")
        if (lex_rank is None or lex_rank > 3) and (sem_rank is None or sem_rank > 3):
            reasons.append("semantic miss")
        if signal[qid] == 1 and sem_rank != 1:
            reasons.append("page signal")
        if lexical[qid]["first_answer_rank"] == 1 and semantic[qid]["first_answer_rank"] != 1:
            reasons.append("semantic outvotes")
        if "asks-for-old-version" in by_id[qid].tags:
            reasons.append("old version")
            keys = [x["key"] for x in flat_hybrid[qid]["shown"]]
            for key, state in zip(r["expected"], r["expected_states"]):
                successor = index.by_id[index.resolve(key, qid)].specific
                successor = getattr(successor, "superseded_by", None)
                if state == "superseded" and successor is not None and key in keys:
                    at = keys.index(key)
                    if at > 0 and keys[at - 1] == index.key_of(successor.pk):
                        reasons.append("successor rule")
        top = r["shown"][0] if r["shown"] else {}
        found.append({
            "id": qid, "q": r["q"], "viewer": r["viewer"], "tags": list(by_id[qid].tags),
            "expected": list(zip(r["expected"], r["expected_states"])),
            "first": [top.get("key"), top.get("freshness"), top.get("grade")],
            "rank_hybrid": rank, "rank_hybrid_no_demotion": flat_hybrid[qid]["first_answer_rank"],
            "rank_lexical": lexical[qid]["first_answer_rank"], "rank_semantic": semantic[qid]["first_answer_rank"],
            "rank_lexical_no_demotion": lex_rank, "rank_semantic_no_demotion": sem_rank,
            "rank_title_summary_vector": signal[qid], "reasons": reasons,
        })
    per_mode = {}
    for mode in base["modes"]:
        now, off = rows(base, mode), rows(flat, mode)
        fails = [q for q, r in now.items() if not r["success@1"]]
        stale = {"overdue", "needs_review", "superseded", "rescinded"}
        per_mode[mode] = {
            "failing": len(fails),
            "fixed_without_demotion": sum(1 for q in fails if off[q]["success@1"]),
            "near_miss_stale_answer": sum(1 for q in fails if now[q]["first_answer_rank"] in (2, 3)
                                          and stale & set(now[q]["expected_states"])),
            "near_miss": sum(1 for q in fails if now[q]["first_answer_rank"] in (2, 3)),
            "answer_not_in_top_10": sum(1 for q in fails if not now[q]["first_answer_rank"]
                                        or now[q]["first_answer_rank"] > 10),
        }
    summary = {
        "per_mode": per_mode,
        "modes": base["modes"], "modes_without_demotion": flat["modes"],
        "failing_hybrid": len(found), "reasons": dict(Counter(x for f in found for x in f["reasons"])),
        "title_summary_vector_success@1": round(sum(1 for v in signal.values() if v == 1) / len(signal), 4),
        "unexplained": [f["id"] for f in found if not f["reasons"]],
    }
    return summary, found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", help="a judged site question set (search_eval --site format)")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    summary, found = diagnose(args.questions)
    print(f"{'mode':<10}{'nDCG@10':>9}{'succ@1':>8}  without demotion: {'nDCG@10':>8}{'succ@1':>8}")
    for mode, r in summary["modes"].items():
        f = summary["modes_without_demotion"][mode]
        print(f"{mode:<10}{r['ndcg@10']:>9.3f}{r['success@1']:>8.3f}{'':>20}{f['ndcg@10']:>8.3f}{f['success@1']:>8.3f}")
    for mode, m in summary["per_mode"].items():
        print(f"{mode:<10} failing {m['failing']}: fixed with the demotion off {m['fixed_without_demotion']}, "
              f"answer at 2-3 {m['near_miss']} (of which the answer is stale {m['near_miss_stale_answer']}), "
              f"answer below 10 or absent {m['answer_not_in_top_10']}")
    print(f"title+summary vector alone: success@1 {summary['title_summary_vector_success@1']:.3f}")
    print(f"\n{summary['failing_hybrid']} hybrid failures; reasons: {summary['reasons']}")
    print("ranks of the first answer: hybrid / no demotion / lexical / semantic / semantic no demotion / title+summary")
    for f in found:
        ranks = " / ".join(str(f[k] or "-") for k in ("rank_hybrid", "rank_hybrid_no_demotion", "rank_lexical",
                                                       "rank_semantic", "rank_semantic_no_demotion",
                                                       "rank_title_summary_vector"))
        print(f"  {f['id']} {f['q']!r}\n      {ranks}; first {f['first'][0]} [{f['first'][1]}]; "
              f"answer {', '.join(f'{k} [{s}]' for k, s in f['expected'])}; {', '.join(f['reasons']) or '?'}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"summary": summary, "failures": found}, indent=2))
        print(f"Wrote {args.json_out}")


if __name__ == "__main__":
    main()
