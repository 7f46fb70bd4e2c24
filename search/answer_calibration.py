"""Calibrating the answer card's one threshold on a judged answer set.

Every question is answered once with no threshold (the best sentence and
its confidence are kept); then, for each candidate threshold, a card is
"shown" when its confidence reaches it, and the set's figures are worked
out exactly as ``evaluation.evaluate_answers`` does. The threshold chosen
is the one with the most right answers among those that meet the targets
with slack (right when shown >= 92 %, unanswerable shown <= 6.7 %, where the
targets are 90 % and 10 %) and go on meeting them for thresholds up to
``WINDOW`` below: a set of ~60 questions moves a figure by 2-3 points a
question, and questions not in the set (or a ranking change) move scores a
little, so a threshold on the edge of the targets does not hold beyond the
set. Ties go to the lowest such threshold. ``search_eval --answers FILE
--calibrate`` prints the sweep.
"""

from urllib.parse import urlparse

import numpy as np

from .answers import answer_search
from .evaluation import evaluate_answers
from .service import SearchService, parse_request

TARGETS = {"right_when_shown": 0.90, "shown_rate": 0.70, "unanswerable_shown_rate": 0.10}
SLACK = {"right_when_shown": 0.02, "unanswerable_shown_rate": 0.033}  # about one question each
WINDOW = 0.03


def unthresholded_answerer(store):
    """An answerer that shows its best sentence whatever the confidence,
    remembering each confidence in ``store`` by question text."""

    def answer(question, viewer):
        outcome = answer_search(SearchService().search(parse_request({"q": question}), viewer),
                                min_confidence=-10.0)
        if outcome.answer is None:
            store[question] = None
            return None
        store[question] = outcome.confidence
        a = outcome.answer
        return {"page": urlparse(a.url).path or a.url, "text": a.text}

    return answer


def sweep(rows, confidences, thresholds):
    """Figures for each threshold, from one unthresholded run's rows."""
    table = []
    for t in thresholds:
        shown = [r for r in rows if r["shown"] and (confidences.get(r["q"]) or -99) >= t]
        ans = [r for r in rows if r["answerable"]]
        ans_shown = [r for r in shown if r["answerable"]]
        right = [r for r in ans_shown if r["right"]]
        un = [r for r in rows if not r["answerable"]]
        un_shown = [r for r in shown if not r["answerable"]]
        table.append({
            "threshold": round(float(t), 3),
            "shown_rate": round(len(ans_shown) / len(ans), 4) if ans else 0.0,
            "right_when_shown": round(len(right) / len(ans_shown), 4) if ans_shown else 0.0,
            "right": len(right),
            "unanswerable_shown_rate": round(len(un_shown) / len(un), 4) if un else 0.0,
        })
    return table


def _meets(row):
    return (row["right_when_shown"] >= TARGETS["right_when_shown"] + SLACK["right_when_shown"]
            and row["unanswerable_shown_rate"] <= TARGETS["unanswerable_shown_rate"] - SLACK["unanswerable_shown_rate"])


def choose(table, window=WINDOW):
    """The threshold with the most right answers whose neighbours down to
    ``window`` below also meet the targets with slack; None if none does."""
    ok = [r for r in table if _meets(r) and all(
        _meets(o) for o in table if r["threshold"] - window - 1e-9 <= o["threshold"] <= r["threshold"])]
    if not ok:
        return None
    best = max(r["right"] for r in ok)
    return min((r for r in ok if r["right"] == best), key=lambda r: r["threshold"])


def calibrate(questions, lo=0.3, hi=1.2, step=0.01):
    confidences = {}
    report = evaluate_answers(questions, unthresholded_answerer(confidences))
    rows = report["questions"]
    table = sweep(rows, confidences, np.arange(lo, hi + step / 2, step))
    return {"table": table, "chosen": choose(table), "rows": rows, "confidences": confidences}
