"""The site and answer evaluations: their metrics, the checks on a judged
set, and runs through the real search service on a small site (hashing
embedder; the real model's figures are in test_site_quality.py)."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from search.evaluation import evaluate_answers, holds_facts, mrr_at_k, success_at_k
from search.indexing import index_page
from search.judgements import JudgementError, load_answer_questions, load_site_questions
from search.site_evaluation import current_first_violation, evaluate_site
from tests import factories as f

DATA = __import__("pathlib").Path(__file__).resolve().parent.parent / "data"


# --- metrics --------------------------------------------------------------------
def test_success_and_mrr_count_the_answer_only():
    grades = {"a": 1, "b": 3, "c": 2}
    assert success_at_k(["a", "b"], grades, 1) == 0.0
    assert success_at_k(["a", "b"], grades, 2) == 1.0
    assert mrr_at_k(["a", "c", "b"], grades, 10, min_grade=3) == pytest.approx(1 / 3)
    assert mrr_at_k(["a", "c", "b"], grades, 10) == 1.0  # BEIR's reading: any relevant page
    assert mrr_at_k(["a", "c", "b"], grades, 2, min_grade=3) == 0.0


def test_current_first_rule():
    old, successor = {"old": "new"}, {"old", "withdrawn"}
    # the old page above its successor
    assert current_first_violation(["old", "new"], {"new": 3}, old, successor) == ("old", "new")
    # successor first: fine
    assert current_first_violation(["new", "old"], {"new": 3}, old, successor) is None
    # a rescinded page above a current answer, and above one missing from the ranking
    assert current_first_violation(["withdrawn", "x"], {"x": 3}, old, successor) == ("withdrawn", "x")
    assert current_first_violation(["withdrawn"], {"x": 3}, old, successor) == ("withdrawn", "x")
    # asked about the old page by name: it is the answer, no violation
    assert current_first_violation(["old", "new"], {"old": 3, "new": 2}, old, successor) is None
    # an old page below the first ten is not shown
    assert current_first_violation([f"p{i}" for i in range(10)] + ["old"], {"new": 3}, old, successor) is None


def test_fact_matching_reads_dashes_and_spaces_loosely():
    assert holds_facts("Reply within 20 working days.", [["20 working days"]])
    assert holds_facts("the 20-working-day limit", [["20 working day"]])
    assert holds_facts("Use form GH‑1  online", [["GH-1"]])
    assert not holds_facts("within 30 days", [["20 working days"]])
    # every fact must hold, any variant of each will do
    assert holds_facts("form PR-7 by 31 January", [["31 January"], ["PR-7", "PR 7"]])
    assert not holds_facts("form PR-7", [["31 January"], ["PR-7"]])


# --- reading a set ----------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ("questions: [{id: a, q: x, grades: {p: 4}}]", "not 0, 1, 2 or 3"),
    ("questions: [{id: a, q: x, grades: {p: 2}}]", "no page is graded 3"),
    ("questions: [{id: a, q: x, grades: {p: 3}, colour: red}]", "unknown field"),
    ("questions: [{id: a, q: x, grades: {p: 3}}, {id: a, q: y, grades: {p: 3}}]", "used twice"),
    ("questions: [{id: a, grades: {p: 3}}]", "'q' is missing"),
    ("questions: {id: a}", "'questions' list"),
    ("questions: [{id: a, q: x, grades: {p: 3}", "not valid YAML"),
])
def test_a_malformed_site_set_is_refused_with_the_reason(tmp_path, text, message):
    path = tmp_path / "set.yaml"
    path.write_text(text)
    with pytest.raises(JudgementError, match=message):
        load_site_questions(path)


def test_json_lines_sets_and_their_errors(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "a", "q": "x", "grades": {"p": 3}}\n\n{"id": "b", "q": "y", "grades": {"p": 3}, "viewer": "owner"}\n')
    assert [(q.id, q.viewer) for q in load_site_questions(path)] == [("a", "civil"), ("b", "owner")]
    path.write_text('{"id": "a", "q": "x", "grades": {"p": 3}}\n{broken\n')
    with pytest.raises(JudgementError, match="set.jsonl:2"):
        load_site_questions(path)


def test_answer_sets_keep_answerable_and_unanswerable_apart(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("questions: [{id: u, q: x, answerable: false, pages: [p]}]")
    with pytest.raises(JudgementError, match="names no pages"):
        load_answer_questions(path)
    path.write_text("questions: [{id: a, q: x, pages: [p], facts: ['20 days']}]")
    with pytest.raises(JudgementError, match="each a list of variants"):
        load_answer_questions(path)


def test_the_shipped_sets_are_well_formed():
    site = load_site_questions(DATA / "site_questions.yaml")
    assert len(site) >= 80
    assert {"situation", "colloquial", "acronym", "misspelling", "asks-for-old-version"} <= {t for q in site for t in q.tags}
    assert {"anonymous", "civil", "owner"} == {q.viewer for q in site}
    answers = load_answer_questions(DATA / "answer_questions.yaml")
    assert sum(q.answerable for q in answers) >= 50
    assert sum(not q.answerable for q in answers) >= 25


# --- through the search service, on a small site ------------------------------------
@pytest.fixture
def small_site(db):
    f.user("civil")
    old = f.policy("Travel rules (2019)", "Staff travelled second class by train.", status="superseded")
    new = f.policy("Travel policy", "Staff travel second class by train and book through the travel desk.",
                   supersedes=old)
    secret = f.policy("Restricted travel security", "Ministers travel with protection officers.",
                      audience="restricted")
    for page in (old, new, secret):
        index_page(page.pk)
    return {"old": old, "new": new, "secret": secret}


def _write(tmp_path, questions):
    path = tmp_path / "set.yaml"
    path.write_text(json.dumps({"questions": questions}))  # JSON is YAML
    return path


def test_site_evaluation_scores_what_the_viewer_is_shown(small_site, tmp_path):
    new, old = small_site["new"], small_site["old"]
    path = _write(tmp_path, [
        {"id": "q1", "q": "travel second class train", "grades": {new.slug: 3, old.slug: 1}},
        {"id": "q2", "q": "how did staff travel under the 2019 rules", "viewer": "anonymous",
         "grades": {old.slug: 3, new.slug: 2}, "tags": ["asks-for-old-version"]},
    ])
    report = evaluate_site(load_site_questions(path), modes=("lexical", "hybrid"))
    assert set(report["modes"]) == {"lexical", "hybrid"}
    for mode, figures in report["modes"].items():
        assert figures["questions"] == 2
        assert 0 <= figures["ndcg@10"] <= 1 and 0 <= figures["success@1"] <= 1
        rows = report["questions"][mode]
        q1 = rows[0]
        # the successor rule holds in the service, so the current page leads
        assert q1["shown"][0]["key"] == new.slug and q1["success@1"] == 1.0 and q1["current_first"] is None
        assert {"viewer:civil", "answer:fresh"} <= set(q1["tags"])
        assert rows[1]["viewer"] == "anonymous"
        # the restricted page is never among what either viewer was shown
        assert all(s["key"] != small_site["secret"].slug for r in rows for s in r["shown"])
    assert "asks-for-old-version" in report["categories"]["hybrid"]


def test_a_graded_page_the_viewer_may_not_open_stops_the_run(small_site, tmp_path):
    path = _write(tmp_path, [{"id": "q1", "q": "protection officers", "grades": {small_site["secret"].slug: 3}}])
    with pytest.raises(JudgementError, match="civil may not open it"):
        evaluate_site(load_site_questions(path), modes=("lexical",))
    path = _write(tmp_path, [{"id": "q1", "q": "travel", "grades": {"no-such-page": 3}}])
    with pytest.raises(CommandError, match="no live page with slug 'no-such-page'"):
        call_command("search_eval", site=str(path), stdout=io.StringIO())
    path = _write(tmp_path, [{"id": "q1", "q": "travel", "viewer": "nobody", "grades": {small_site["new"].slug: 3}}])
    with pytest.raises(JudgementError, match="viewer 'nobody'"):
        evaluate_site(load_site_questions(path), modes=("lexical",))


def test_the_site_command_prints_tables_failures_and_json(small_site, tmp_path):
    path = _write(tmp_path, [
        {"id": "q1", "q": "travel desk", "grades": {small_site["new"].slug: 3}, "tags": ["colloquial"]},
        {"id": "q2", "q": "train", "grades": {small_site["old"].slug: 3}},
    ])
    out, stdout = tmp_path / "site.json", io.StringIO()
    call_command("search_eval", site=str(path), mode="lexical", json_out=str(out), stdout=stdout)
    text = stdout.getvalue()
    assert "nDCG@10" in text and "By category (lexical)" in text and "colloquial" in text
    # q2's answer is the superseded page, ranked below its successor by the service: a failure
    assert "Failing questions (lexical): 1" in text and "q2 (civil) 'train'" in text
    report = json.loads(out.read_text())
    assert report["modes"]["lexical"]["success@1"] == 0.5


def test_answers_are_scored_on_page_facts_and_access(small_site, tmp_path):
    new, secret = small_site["new"], small_site["secret"]
    path = tmp_path / "answers.yaml"
    path.write_text(json.dumps({"questions": [
        {"id": "a1", "q": "how do staff travel", "pages": [new.slug], "facts": [["second class"]]},
        {"id": "a2", "q": "who books travel", "pages": [new.slug], "facts": [["travel desk"]]},
        {"id": "a3", "q": "what did the old rules say", "pages": [new.slug], "facts": [["second class"]]},
        {"id": "u1", "q": "how do ministers travel", "answerable": False},
        {"id": "u2", "q": "canteen menu", "answerable": False},
    ]}))
    scripted = {
        "how do staff travel": {"page": new.slug, "text": "Staff travel second class by train."},  # right
        "who books travel": {"page": new.url, "text": "Staff travel by train."},  # listed page, fact missing
        "what did the old rules say": {"page": small_site["old"].slug, "text": "second class"},  # wrong page
        "how do ministers travel": {"page": secret.slug, "text": "with protection officers"},  # a leak
    }
    report = evaluate_answers(load_answer_questions(path), lambda q, viewer: scripted.get(q))
    s = report["summary"]
    assert (s["answerable"], s["answerable_shown"], s["shown_rate"]) == (3, 3, 1.0)
    assert s["right_when_shown"] == pytest.approx(1 / 3, abs=1e-4)
    assert (s["unanswerable"], s["unanswerable_shown"], s["unanswerable_shown_rate"]) == (2, 1, 0.5)
    assert s["leaks"] == 1
    with pytest.raises(TypeError, match="must return None or a dict"):
        evaluate_answers(load_answer_questions(path), lambda q, viewer: "an answer")


def test_the_answers_command_runs_the_baseline_and_names_it(small_site, tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text(json.dumps({"questions": [
        {"id": "a1", "q": "travel desk", "pages": [small_site["new"].slug], "facts": [["travel desk"]]},
        {"id": "u1", "q": "zzqx", "answerable": False},
    ]}))
    stdout = io.StringIO()
    call_command("search_eval", answers=str(path), stdout=stdout)
    assert "BASELINE" in stdout.getvalue() and "answerable 1: shown 100.0%" in stdout.getvalue()
    with pytest.raises(CommandError, match="cannot be imported"):
        call_command("search_eval", answers=str(path), answerer="search.nowhere.answer", stdout=io.StringIO())

