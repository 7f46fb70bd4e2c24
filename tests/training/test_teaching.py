"""The map of which modules teach which page (training/teaching.py) against
the rule stated as one query per page (tests/training/reference.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories as kf
from tests.training import factories as tf
from tests.training.reference import modules_teaching
from training.models import PageCompetence
from training.teaching import modules_teaching_pages, teaching_map

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
def test_the_map_answers_as_the_rule_does(links, limit):
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


def test_built_once_per_epoch_then_no_queries(links):
    pages, _ = links
    first = teaching_map()
    with CaptureQueriesContext(connection) as ctx:
        assert teaching_map() is first
        modules_teaching_pages([p.pk for p in pages.values()] + [10**9], 2)  # an unknown page: no links
    assert not ctx.captured_queries


def test_a_training_change_moves_the_epoch_and_rebuilds_the_map(links):
    pages, modules = links
    before = teaching_map()
    modules["loose"].title = "Z loose module"
    modules["loose"].save()
    assert teaching_map() is not before
    assert [m.title for m in modules_teaching_pages([pages["both"].pk], 5)[pages["both"].pk]] == [
        "B teaching module", "Z loose module"]


def test_cache_down_asks_the_database_per_page(links, settings):
    """No epoch, no memo: the answer still comes, from the per-page queries."""
    pages, modules = links
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}  # nothing listens on port 1
    assert teaching_map() is None
    assert modules_teaching_pages([pages["read"].pk], 2) == {pages["read"].pk: [modules["reading"]]}
