"""The answer card on the demo site with the real embedding model (issue 23).

The judged answer set (tests/data/answer_questions.yaml) is run through the
card as each question's viewer (search_eval --answers --answerer
search.answers.card_answerer), on the demo loaded as on EVALUATED_ON (see
test_site_quality.py). The figures are FLOORS measured on the code as it
was, with a TOLERANCE for float32/ONNX differences (a question or two);
raise them when the card gets better. Nothing may come from a page the
viewer may not open.
"""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.search.test_site_quality import demo_site  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
DATA = Path(__file__).resolve().parent.parent / "data"

# Measured 2026-12-01 evening on the listed set, ranking of the relevance
# branch merged (threshold 0.90, calibrated with
#   python manage.py search_eval --answers tests/data/answer_questions.yaml --calibrate)
# and then run with --answerer search.answers.card_answerer: shown 91.5 %,
# right when shown 92.6 %, unanswerable shown 6.7 %.
FLOORS = {"shown_rate": 0.915, "right_when_shown": 0.926}
CEILINGS = {"unanswerable_shown_rate": 0.067}
TOLERANCE = 0.04  # two answerable questions; one unanswerable in 30 is 0.033


def test_the_answer_card_meets_its_measured_floors_and_never_leaks(demo_site, tmp_path):  # noqa: F811
    out, stdout = tmp_path / "answers.json", io.StringIO()
    call_command("search_eval", answers=str(DATA / "answer_questions.yaml"),
                 answerer="search.answers.card_answerer", json_out=str(out), stdout=stdout)
    print(stdout.getvalue())
    summary = json.loads(out.read_text())["summary"]
    assert summary["leaks"] == 0
    for name, floor in FLOORS.items():
        assert summary[name] >= floor - TOLERANCE, (name, summary[name], floor)
    for name, ceiling in CEILINGS.items():
        assert summary[name] <= ceiling + TOLERANCE, (name, summary[name], ceiling)
