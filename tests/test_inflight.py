"""kmsite.inflight.InFlight: of the requests that miss the same cache entry
at once, one computes it and the others wait for it, never for long and
never for a failure."""

import threading
import time

import pytest

from kmsite.inflight import InFlight


def start(target, *args):
    thread = threading.Thread(target=target, args=args)
    thread.start()
    return thread


def test_one_computes_while_the_others_wait_and_then_read_its_result():
    flights = InFlight(wait_seconds=10)
    store, computed, read, arrived = {}, [], [], []
    inside, release = threading.Event(), threading.Event()

    def ask(name):
        arrived.append(name)
        with flights.once("entry") as leading:
            if leading:
                inside.set()
                release.wait(10)
                store["entry"] = "value"
                computed.append(name)
            else:
                read.append(store.get("entry"))

    leader = start(ask, "first")
    assert inside.wait(10)
    waiters = [start(ask, f"later-{i}") for i in range(5)]
    while len(arrived) < 6:
        time.sleep(0.01)
    time.sleep(0.2)  # they have reached the wait; none may have gone on
    assert read == [] and computed == []
    release.set()
    for t in [leader, *waiters]:
        t.join(10)
    assert computed == ["first"]
    assert read == ["value"] * 5
    assert len(flights) == 0


def test_different_keys_are_computed_side_by_side():
    flights = InFlight(wait_seconds=10)
    both_inside = threading.Barrier(2, timeout=5)
    failures = []

    def compute(key):
        with flights.once(key) as leading:
            assert leading
            try:
                both_inside.wait()  # broken if one had to wait for the other
            except threading.BrokenBarrierError as exc:
                failures.append(exc)

    threads = [start(compute, "a"), start(compute, "b")]
    for t in threads:
        t.join(10)
    assert failures == []


def test_a_failed_computation_is_not_handed_on_and_frees_the_key():
    flights = InFlight(wait_seconds=10)
    inside, fail = threading.Event(), threading.Event()
    outcomes = []

    def leader():
        try:
            with flights.once("entry"):
                inside.set()
                fail.wait(10)
                raise ValueError("the database went away")
        except ValueError as exc:
            outcomes.append(("leader", str(exc)))

    def waiter():
        with flights.once("entry") as leading:
            outcomes.append(("waiter", leading))

    first = start(leader)
    assert inside.wait(10)
    second = start(waiter)
    time.sleep(0.1)
    fail.set()
    first.join(10)
    second.join(10)
    assert sorted(outcomes) == [("leader", "the database went away"), ("waiter", False)]
    with flights.once("entry") as leading:  # nobody is computing it now
        assert leading


def test_a_waiter_goes_on_by_itself_when_the_computation_takes_too_long():
    flights = InFlight(wait_seconds=0.2)
    inside, release = threading.Event(), threading.Event()
    went_on = []

    def slow():
        with flights.once("entry"):
            inside.set()
            release.wait(10)

    leader = start(slow)
    assert inside.wait(10)
    with flights.once("entry") as leading:
        went_on.append((leading, release.is_set()))
    release.set()
    leader.join(10)
    assert went_on == [(False, False)]  # it went on while the leader was still at work


def test_asking_again_inside_its_own_computation_does_not_wait_for_itself():
    flights = InFlight(wait_seconds=30)
    with flights.once("entry") as outer:
        started = time.monotonic()
        with flights.once("entry") as inner:
            assert outer and inner
        assert time.monotonic() - started < 10  # not the 30 s wait
    assert len(flights) == 0


@pytest.mark.parametrize("wait_seconds", [0, 0.5])
def test_a_lone_request_never_waits(wait_seconds):
    flights = InFlight(wait_seconds=wait_seconds)
    for _ in range(3):
        with flights.once("entry") as leading:
            assert leading
