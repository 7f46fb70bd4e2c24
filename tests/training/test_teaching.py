"""Which modules teach which page (training/teaching.py) against the rule
stated as one query per page (tests/training/reference.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories as kf
from tests.training import factories as tf
from tests.training.reference import modules_teaching
from training.models import PageCompetence
from training.teaching import modules_teaching_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def links(fw):
    """Pages linked to modules every way the rule knows: by an activity, by a
    tagged competence, both, through an unpublished curriculum, not at all."""
    _, comps = fw
    pages = {name: kf.policy(f"{name} policy") for name in ("read", "tagged", "both", "hidden", "many", "none")}
    live, draft = tf.curriculum("Live course"), tf.curriculum("Draft course", live=False)
    reading = tf.module("Reading module", live)
    teaching = tf.module("B teaching module", live, develops={comps["C1"]: 2})
    loose = tf.module("A loose module", develops={comps["C2"]: 1})  # no curriculum: shown
    hidden = tf.module("Hidden module", draft)
    tf.read_activity(reading, pages["read"])
    PageCompetence.objects.create(page=pages["tagged"], competence=comps["C1"])
    tf.read_activity(teaching, pages["both"])
    PageCompetence.objects.create(page=pages["both"], competence=comps["C1"])  # the same module twice
    PageCompetence.objects.create(page=pages["both"], competence=comps["C2"])
    tf.read_activity(hidden, pages["hidden"])
    for i in range(7):
        tf.read_activity(tf.module(f"Module {i:02d}", live), pages["many"])
    PageCompetence.objects.create(page=pages["many"], competence=comps["C2"])
    return pages, {"reading": reading, "teaching": teaching, "loose": loose, "hidden": hidden}


@pytest.mark.parametrize("limit", [1, 2, 5])
def test_the_answer_is_the_rules(links, limit):
    pages, _ = links
    answers = modules_teaching_pages([p.pk for p in pages.values()], limit)
    for name, page in pages.items():
        assert answers[page.pk] == modules_teaching(page, limit), name


def test_direct_use_first_then_title_unpublished_curricula_left_out(links):
    pages, modules = links
    answers = modules_teaching_pages([p.pk for p in pages.values()], 5)
    assert answers[pages["both"].pk] == [modules["teaching"], modules["loose"]]  # used by an activity first
    assert answers[pages["hidden"].pk] == [] and answers[pages["none"].pk] == []
    assert [m.title for m in answers[pages["many"].pk]] == [f"Module {i:02d}" for i in range(5)]


def test_three_queries_however_many_pages(links):
    pages, _ = links
    with CaptureQueriesContext(connection) as ctx:
        modules_teaching_pages([p.pk for p in pages.values()] + [10**9], 2)  # an unknown page: no links
    assert len(ctx.captured_queries) == 3


def test_a_training_change_shows_at_once(links):
    pages, modules = links
    modules["loose"].title = "Z loose module"
    modules["loose"].save()
    assert [m.title for m in modules_teaching_pages([pages["both"].pk], 5)[pages["both"].pk]] == [
        "B teaching module", "Z loose module"]
