"""Evaluate retrieval on a BEIR-format collection: nDCG@10, Recall@100, MRR@10."""

import json

from django.core.management.base import BaseCommand, CommandError

from kmsite.progress import Progress

from ...evaluation import CollectionError, evaluate

MODES = ("lexical", "semantic", "hybrid")


class Command(BaseCommand):
    help = "Evaluate search quality on a BEIR-format collection (indexed into a scratch namespace)."

    def add_arguments(self, parser):
        parser.add_argument("--beir", required=True, help="Directory with corpus.jsonl, queries.jsonl, qrels/test.tsv")
        parser.add_argument("--mode", default="all", choices=[*MODES, "all"])
        parser.add_argument("--backend", default=None, help="Search backend alias")
        parser.add_argument("--split", default="test")
        parser.add_argument("--json", dest="json_out", default=None, help="Write the figures to this JSON file")

    def handle(self, *args, beir, mode, backend, split, json_out, **options):
        modes = MODES if mode == "all" else (mode,)
        try:
            report, info = evaluate(
                beir, modes, backend_alias=backend, split=split,
                progress_factory=lambda total, label: Progress(self.stdout, total, label),
            )
        except CollectionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"\n{info['documents']} documents, {info['queries']} judged queries")
        self.stdout.write(f"{'mode':<10}{'nDCG@10':>10}{'R@100':>10}{'MRR@10':>10}{'p50 ms':>10}{'p95 ms':>10}")
        for m, r in report.items():
            self.stdout.write(
                f"{m:<10}{r['ndcg@10']:>10.4f}{r['recall@100']:>10.4f}{r['mrr@10']:>10.4f}{r['p50_ms']:>10.1f}{r['p95_ms']:>10.1f}"
            )
        if json_out:
            with open(json_out, "w", encoding="utf-8") as fh:
                json.dump(report, fh, indent=2)
            self.stdout.write(f"Wrote {json_out}")
