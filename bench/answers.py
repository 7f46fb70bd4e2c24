"""What the answer card adds to a search (issue 23): its time, alone.

    .venv/bin/python bench/answers.py [--questions tests/data/answer_questions.yaml] [--rounds 5]
                                      [--json bench/results/answers.json]

Runs against the configured database and search index with the demo loaded
(``manage.py load_demo``), so that it measures the site as served: each
judged question is searched once as its viewer through the search service
(not timed), then ``answers.answer_search`` is timed on that response
``--rounds`` times. The first round after a cold start is reported apart:
it reads sentence vectors from the shared cache (or embeds them if the cache
lost them), where later rounds find them in the process's memory. The warm
rounds' CPU time (this thread's) is reported beside their wall clock, which
a shared machine inflates. Prints p50/p95/max in milliseconds and, with --json, writes them with the machine.

``--pairs N`` then times whole searches with the card and without it, in
alternating pairs (each question searched card-off then card-on, or the
other way round, swapping every time, N rounds), wall clock and this
thread's CPU time, and prints what the card adds: p95 with the card minus
p95 without, and the p50/p95 of the paired differences. On a shared machine
the CPU figures are the steadier ones.
The target: the card adds <= 10 ms at p95 to a search.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, machine  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", default=str(ROOT / "tests/data/answer_questions.yaml"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=0, help="rounds of card-off/card-on search pairs")
    parser.add_argument("--json", dest="json_out")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmsite.settings.dev")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import numpy as np

    from search.answers import answer_search
    from search.judgements import SiteIndex, load_answer_questions
    from search.service import SearchService, parse_request

    index, service = SiteIndex(), SearchService()
    questions = load_answer_questions(args.questions)
    responses = [service.search(parse_request({"q": q.q}), index.viewer(q.viewer)) for q in questions]
    first, warm, warm_cpu, search_ms = [], [], [], []
    for r in responses:
        started = time.perf_counter()
        answer_search(r)
        first.append((time.perf_counter() - started) * 1000)
        search_ms.append(r.took_ms)
    for _ in range(args.rounds):
        for r in responses:
            started, cpu = time.perf_counter(), time.thread_time()
            answer_search(r)
            warm.append((time.perf_counter() - started) * 1000)
            warm_cpu.append((time.thread_time() - cpu) * 1000)

    def figures(values):
        a = np.asarray(values)
        return {"p50_ms": round(float(np.percentile(a, 50)), 2), "p95_ms": round(float(np.percentile(a, 95)), 2),
                "max_ms": round(float(a.max()), 2), "n": len(values)}

    report = {"questions": len(questions), "card_first_round": figures(first), "card_warm": figures(warm),
              "card_warm_cpu": figures(warm_cpu),
              "search_alone": figures(search_ms), "load_average": os.getloadavg(), "machine": machine()}
    print(f"{len(questions)} questions, {args.rounds} warm rounds; load average {os.getloadavg()[0]:.1f}")
    for name in ("card_first_round", "card_warm", "card_warm_cpu", "search_alone"):
        f = report[name]
        print(f"  {name:<18} p50 {f['p50_ms']:>7.2f} ms   p95 {f['p95_ms']:>7.2f} ms   max {f['max_ms']:>7.2f} ms")
    if args.pairs:
        report["pairs"] = pairs(questions, index, service, answer_search, args.pairs, figures)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=2))
        print(f"Wrote {args.json_out}")


def pairs(questions, index, service, answer_search, rounds, figures):
    """Searches with and without the card, in alternating pairs."""
    import numpy as np

    from search.service import parse_request

    times = {(mode, clock): [] for mode in ("off", "on") for clock in ("wall", "cpu")}
    n = 0
    for _ in range(rounds):
        for q in questions:
            viewer = index.viewer(q.viewer)
            for mode in (("off", "on") if n % 2 == 0 else ("on", "off")):
                started, cpu = time.perf_counter(), time.thread_time()
                response = service.search(parse_request({"q": q.q}), viewer)
                if mode == "on":
                    answer_search(response)
                times[mode, "wall"].append((time.perf_counter() - started) * 1000)
                times[mode, "cpu"].append((time.thread_time() - cpu) * 1000)
            n += 1
    out = {}
    print(f"\n{rounds} rounds of {len(questions)} card-off/card-on pairs; load average {os.getloadavg()[0]:.1f}")
    for clock in ("wall", "cpu"):
        off, on = figures(times["off", clock]), figures(times["on", clock])
        diff = figures(np.asarray(times["on", clock]) - np.asarray(times["off", clock]))
        out[clock] = {"card_off": off, "card_on": on, "paired_difference": diff,
                      "added_at_p95_ms": round(on["p95_ms"] - off["p95_ms"], 2)}
        print(f"  {clock:<5} search p50/p95 card off {off['p50_ms']:.1f}/{off['p95_ms']:.1f} ms, "
              f"on {on['p50_ms']:.1f}/{on['p95_ms']:.1f} ms; the card adds {out[clock]['added_at_p95_ms']:.1f} ms "
              f"at p95 (paired differences p50 {diff['p50_ms']:.1f}, p95 {diff['p95_ms']:.1f} ms)")
    return out


if __name__ == "__main__":
    main()
