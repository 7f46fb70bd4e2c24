"""Ranking variants side by side: each named variant (a few ``KM_SEARCH``
overrides) is run on one or more judged site question sets, through the
real search service against the configured database's live index, and on
the passage collection (indexed once into a scratch namespace), in every
mode. Prints one line per variant, set and mode, and JSON with --json.

    KM_QUERY_RUNTIME=onnx .venv/bin/python bench/relevance_compare.py \\
        --site tests/data/site_questions.yaml [--site other.yaml] \\
        [--beir tests/data/civil_service_beir] [--variant name ...] [--json out.json]

The variants are in VARIANTS below; they change nothing outside this
process. This is how the choices in docs/architecture.md ("Ranking") were
measured.
"""

import argparse
import json
import os
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmsite.settings.dev")

NO_TRUST = {"TRUST_MARGIN": {}}
VARIANTS = {
    "default": {},
    "rrf k2 1:2": {"FUSION": "rrf", "RRF_K": 2, "LEXICAL_WEIGHT": 1.0, "SEMANTIC_WEIGHT": 2.0},
    "rrf k60 1:1": {"FUSION": "rrf", "RRF_K": 60, "LEXICAL_WEIGHT": 1.0, "SEMANTIC_WEIGHT": 1.0},
    "convex .5:.5": {"FUSION": "convex", "LEXICAL_WEIGHT": 0.5, "SEMANTIC_WEIGHT": 0.5},
    "convex .3:.7": {"FUSION": "convex", "LEXICAL_WEIGHT": 0.3, "SEMANTIC_WEIGHT": 0.7},
    "convex .4:.6": {"FUSION": "convex", "LEXICAL_WEIGHT": 0.4, "SEMANTIC_WEIGHT": 0.6},
    "convex .6:.4": {"FUSION": "convex", "LEXICAL_WEIGHT": 0.6, "SEMANTIC_WEIGHT": 0.4},
    "no trust": NO_TRUST,
    "fresh .02": {"TRUST_MARGIN": {"superseded": 0.5, "rescinded": 0.5, "overdue": 0.02, "needs_review": 0.02}},
    "fresh .10": {"TRUST_MARGIN": {"superseded": 0.5, "rescinded": 0.5, "overdue": 0.10, "needs_review": 0.10}},
    "old .3": {"TRUST_MARGIN": {"superseded": 0.3, "rescinded": 0.3, "overdue": 0.05, "needs_review": 0.05}},
    "asked within .1": {"OLD_ASKED_WITHIN": 0.1},
    "asked within .3": {"OLD_ASKED_WITHIN": 0.3},
    "cal lex minmax": {"FUSION": "convex", "CALIBRATION": {"lexical": "minmax", "semantic": "max"}},
    "cal sem floor": {"FUSION": "convex", "CALIBRATION": {"lexical": "max", "semantic": "floor"}},
    "cal sem floor .4:.6": {"FUSION": "convex", "CALIBRATION": {"lexical": "max", "semantic": "floor"},
                            "LEXICAL_WEIGHT": 0.4, "SEMANTIC_WEIGHT": 0.6},
    "cal sem floor .3:.7": {"FUSION": "convex", "CALIBRATION": {"lexical": "max", "semantic": "floor"},
                            "LEXICAL_WEIGHT": 0.3, "SEMANTIC_WEIGHT": 0.7},
    "cal both minmax": {"FUSION": "convex", "CALIBRATION": {"lexical": "minmax", "semantic": "minmax"}},
    "cal both minmax .4:.6": {"FUSION": "convex", "CALIBRATION": {"lexical": "minmax", "semantic": "minmax"},
                              "LEXICAL_WEIGHT": 0.4, "SEMANTIC_WEIGHT": 0.6},
    "rrf k2 1:1.5": {"FUSION": "rrf", "RRF_K": 2, "LEXICAL_WEIGHT": 1.0, "SEMANTIC_WEIGHT": 1.5},
    "rrf k5 1:2": {"FUSION": "rrf", "RRF_K": 5, "LEXICAL_WEIGHT": 1.0, "SEMANTIC_WEIGHT": 2.0},
    "rrf k2 1:2 agg .3/.1": {"FUSION": "rrf", "RRF_K": 2, "LEXICAL_WEIGHT": 1.0, "SEMANTIC_WEIGHT": 2.0,
                             "AGGREGATE_DECAY": {"lexical": 0.3, "semantic": 0.1}},
    "old last": {"TRUST_MARGIN": {"superseded": 1.0, "rescinded": 1.0, "overdue": 0.05, "needs_review": 0.05}},
    "old last convex .4:.6": {"TRUST_MARGIN": {"superseded": 1.0, "rescinded": 1.0, "overdue": 0.05,
                                               "needs_review": 0.05}, "LEXICAL_WEIGHT": 0.4, "SEMANTIC_WEIGHT": 0.6,
                              "FUSION": "convex"},
    "aggregate .3/.1": {"AGGREGATE_DECAY": {"lexical": 0.3, "semantic": 0.1}},
    "aggregate .5/.2": {"AGGREGATE_DECAY": {"lexical": 0.5, "semantic": 0.2}},
    "lesson .05": {"TYPE_MARGIN": {"lesson": 0.05}},
    "lesson .10": {"TYPE_MARGIN": {"lesson": 0.10}},
    "lesson .15": {"TYPE_MARGIN": {"lesson": 0.15}},
    "lesson .20": {"TYPE_MARGIN": {"lesson": 0.20}},
    "lesson .10 adaptive 2": {"TYPE_MARGIN": {"lesson": 0.10}, "ADAPTIVE_WEIGHTS": 2.0},
    "adaptive 2": {"ADAPTIVE_WEIGHTS": 2.0},
    "adaptive 5": {"ADAPTIVE_WEIGHTS": 5.0},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", action="append", default=[], help="a judged site question set (repeatable)")
    parser.add_argument("--beir", default=None, help="a BEIR-format collection directory")
    parser.add_argument("--variant", action="append", default=[], help="variant names (default: all)")
    parser.add_argument("--json", dest="json_out", default=None)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.test import override_settings

    from search.backends import get_search_backend
    from search.evaluation import index_collection, load_collection, score_collection
    from search.judgements import load_site_questions
    from search.service import SearchService
    from search.site_evaluation import evaluate_site

    names = args.variant or list(VARIANTS)
    sets = {Path(p).stem: load_site_questions(p) for p in args.site}
    backend = get_search_backend()
    beir, namespace = None, None
    if args.beir:
        corpus, queries, qrels = load_collection(args.beir)
        namespace = f"eval-{uuid.uuid4().hex[:10]}"
        ids = index_collection(corpus, namespace, backend)
        beir = (queries, qrels, ids)
    out = {}
    try:
        for name in names:
            with override_settings(KM_SEARCH={**settings.KM_SEARCH, **VARIANTS[name]}):
                out[name] = {}
                for set_name, questions in sets.items():
                    report = evaluate_site(questions)
                    out[name][set_name] = report["modes"]
                if beir:
                    service = SearchService(backend=backend, namespace=namespace)
                    out[name]["beir"] = score_collection(service, *beir, ("lexical", "semantic", "hybrid"))
            for set_name, modes in out[name].items():
                cells = []
                for mode in ("lexical", "semantic", "hybrid"):
                    f = modes[mode]
                    cell = f"{mode[:3]} nDCG {f['ndcg@10']:.3f}"
                    if "success@1" in f:
                        cell += f" s@1 {f['success@1']:.3f} cf {f['current_first_violations']}"
                    cells.append(cell)
                print(f"{name:<18} {set_name:<26} " + " | ".join(cells), flush=True)
    finally:
        if namespace:
            backend.drop_namespace(namespace)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
