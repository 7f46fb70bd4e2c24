import pytest

from tests import factories as kf

from . import factories as tf


@pytest.fixture
def units():
    """ministry > directorate > team, and an unrelated agency."""
    ministry = kf.unit("ministry", "Ministry")
    directorate = kf.unit("directorate", "Directorate", parent=ministry)
    team = kf.unit("team", "Team", parent=directorate)
    agency = kf.unit("agency", "Agency")
    return {"ministry": ministry, "directorate": directorate, "team": team, "agency": agency}


@pytest.fixture
def fw():
    framework, comps = tf.framework()
    return framework, comps


@pytest.fixture
def course(fw):
    """A curriculum with two modules: reading + check, then reading (needs the first)."""
    _, comps = fw
    page_a, page_b = kf.policy("Records policy"), kf.procedure("Filing records")
    cur = tf.curriculum("Records essentials", is_open=True, validity=12)
    first = tf.module("Keeping records", cur, develops={comps["C1"]: 3}, sort_order=1)
    read_a = tf.read_activity(first, page_a)
    check = tf.check_activity(first)
    second = tf.module("Filing", cur, develops={comps["C1"]: 4, comps["C2"]: 2}, prerequisites=[first], sort_order=2)
    read_b = tf.read_activity(second, page_b)
    return {"curriculum": cur, "first": first, "second": second, "read_a": read_a, "check": check,
            "read_b": read_b, "page_a": page_a, "page_b": page_b}
