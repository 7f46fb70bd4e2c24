"""Evaluate search quality.

--beir DIR      a BEIR-format passage collection, indexed into a scratch
                namespace: nDCG@10, Recall@100, MRR@10.
--site FILE     a judged question set run against this site's live index as
                each question's viewer: nDCG@10, MRR@10, success@1/@3 and
                "current first", per mode and per category, and the failures.
--answers FILE  a judged answer set scored on an answerer (``--answerer``, a
                dotted path to ``fn(question, viewer) -> None or {"page", "text"}``;
                by default a baseline that is NOT the answer card).
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from kmsite.progress import Progress

from ...evaluation import CollectionError, evaluate, evaluate_answers
from ...judgements import JudgementError, load_answer_questions, load_site_questions
from ...site_evaluation import METRICS, evaluate_site, failing

MODES = ("lexical", "semantic", "hybrid")
BASELINE_ANSWERER = "search.evaluation.baseline_answerer"


class Command(BaseCommand):
    help = "Evaluate search quality on a BEIR collection, a judged site question set or a judged answer set."

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--beir", help="Directory with corpus.jsonl, queries.jsonl, qrels/test.tsv")
        source.add_argument("--site", help="Judged site questions (YAML or JSON lines), run against the live index")
        source.add_argument("--answers", help="Judged answer questions (YAML or JSON lines)")
        parser.add_argument("--mode", default="all", choices=[*MODES, "all"])
        parser.add_argument("--backend", default=None, help="Search backend alias")
        parser.add_argument("--split", default="test", help="BEIR qrels split")
        parser.add_argument("--answerer", default=BASELINE_ANSWERER,
                            help=f"Dotted path of the answer function (default: {BASELINE_ANSWERER}, a baseline)")
        parser.add_argument("--calibrate", action="store_true",
                            help="Answers: sweep the answer card's confidence threshold on the set and print it")
        parser.add_argument("--failures", type=int, default=40, help="Failing questions listed per mode (site)")
        parser.add_argument("--json", dest="json_out", default=None, help="Write the figures to this JSON file")

    def handle(self, *args, beir, site, answers, mode, backend, split, answerer, failures, json_out, calibrate=False,
               **options):
        modes = MODES if mode == "all" else (mode,)
        try:
            if beir:
                report = self._beir(beir, modes, backend, split)
            elif site:
                report = self._site(site, modes, backend, failures)
            elif calibrate:
                report = self._calibrate(answers)
            else:
                report = self._answers(answers, answerer)
        except (CollectionError, JudgementError) as exc:
            raise CommandError(str(exc)) from exc
        if json_out:
            with open(json_out, "w", encoding="utf-8") as fh:
                json.dump(report, fh, indent=2)
            self.stdout.write(f"Wrote {json_out}")

    def _progress(self, total, label):
        return Progress(self.stdout, total, label)

    def _beir(self, directory, modes, backend, split):
        report, info = evaluate(directory, modes, backend_alias=backend, split=split, progress_factory=self._progress)
        self.stdout.write(f"\n{info['documents']} documents, {info['queries']} judged queries")
        self.stdout.write(f"{'mode':<10}{'nDCG@10':>10}{'R@100':>10}{'MRR@10':>10}{'p50 ms':>10}{'p95 ms':>10}")
        for m, r in report.items():
            self.stdout.write(
                f"{m:<10}{r['ndcg@10']:>10.4f}{r['recall@100']:>10.4f}{r['mrr@10']:>10.4f}{r['p50_ms']:>10.1f}{r['p95_ms']:>10.1f}"
            )
        return report

    def _site(self, path, modes, backend, limit):
        report = evaluate_site(load_site_questions(path), modes, backend_alias=backend, progress_factory=self._progress)
        info = report["info"]
        w = self.stdout.write
        w(f"\n{info['questions']} questions against {info['pages']} live pages ({info['backend']} backend); "
          "MRR and success count a page graded 3")
        header = f"{'mode':<10}{'nDCG@10':>9}{'MRR@10':>9}{'succ@1':>9}{'succ@3':>9}{'current-first':>15}{'p95 ms':>9}"
        w(header)
        for m, r in report["modes"].items():
            w(f"{m:<10}{r['ndcg@10']:>9.3f}{r['mrr@10']:>9.3f}{r['success@1']:>9.3f}{r['success@3']:>9.3f}"
              f"{r['current_first_violations']:>15}{r['p95_ms']:>9.1f}")
        for m in report["modes"]:
            w(f"\nBy category ({m}): questions, " + ", ".join(METRICS) + ", current-first violations")
            for tag, r in report["categories"][m].items():
                w(f"  {tag:<26}{r['questions']:>4}" + "".join(f"{r[k]:>8.3f}" for k in METRICS)
                  + f"{r['current_first_violations']:>4}")
        for m in report["modes"]:
            rows = failing(report["questions"][m])
            w(f"\nFailing questions ({m}): {len(rows)} (first result not graded 3, or an old page first)")
            for r in rows[:limit]:
                top = r["shown"][0] if r["shown"] else None
                first = f"{top['key']} [{top['freshness']}, grade {top['grade']}]" if top else "(no results)"
                rank = r["first_answer_rank"] or "-"
                w(f"  {r['id']} ({r['viewer']}) {r['q']!r}")
                w(f"      expected {', '.join(f'{k} [{s}]' for k, s in zip(r['expected'], r['expected_states']))}; "
                  f"first answer at rank {rank}")
                w(f"      first shown {first}")
                if r["current_first"]:
                    w(f"      current first broken: {r['current_first']['old']} above {r['current_first']['outranks']}")
        return report

    def _calibrate(self, path):
        from ...answer_calibration import SLACK, TARGETS, WINDOW, calibrate

        result = calibrate(load_answer_questions(path))
        w = self.stdout.write
        w(f"{'threshold':>10}{'shown':>8}{'right/shown':>13}{'right':>7}{'unanswerable shown':>20}")
        for r in result["table"]:
            w(f"{r['threshold']:>10.2f}{r['shown_rate']:>8.1%}{r['right_when_shown']:>13.1%}{r['right']:>7}"
              f"{r['unanswerable_shown_rate']:>20.1%}")
        chosen = result["chosen"]
        w(f"\ntargets {TARGETS}, met with slack {SLACK} for every threshold down to {WINDOW} below")
        w(f"chosen: {chosen}" if chosen else "no threshold meets the targets")
        return {"table": result["table"], "chosen": chosen}

    def _answers(self, path, answerer):
        try:
            answer_fn = import_string(answerer)
        except ImportError as exc:
            raise CommandError(f"--answerer {answerer!r} cannot be imported: {exc}") from exc
        if answerer == BASELINE_ANSWERER:
            self.stdout.write("Answerer: the BASELINE (first sentence of the top result's snippet), not the answer card")
        report = evaluate_answers(load_answer_questions(path), answer_fn)
        s = report["summary"]
        w = self.stdout.write
        w(f"\nanswerable {s['answerable']}: shown {s['shown_rate']:.1%} ({s['answerable_shown']}), "
          f"right when shown {s['right_when_shown']:.1%}, right overall {s['right_rate']:.1%}")
        w(f"unanswerable {s['unanswerable']}: shown {s['unanswerable_shown_rate']:.1%} ({s['unanswerable_shown']})")
        w(f"answers from pages the viewer may not open: {s['leaks']}")
        wrong = [r for r in report["questions"] if (r["answerable"] and not r["right"]) or
                 (not r["answerable"] and r["shown"]) or r["leak"]]
        w(f"\nWrong, missing or unwanted answers: {len(wrong)}")
        for r in wrong:
            got = f"{r['page']}: {r['text'][:110]!r}" if r["shown"] else "(no answer)"
            want = f"from {', '.join(r['expected_pages'])} holding {r['facts']}" if r["answerable"] else "no answer"
            w(f"  {r['id']} ({r['viewer']}) {r['q']!r}\n      wanted {want}\n      got {got}")
        return report
