"""The embedded index shared by several processes, with real processes:
a commit made by one is seen by the next search of another, writers
serialise, and a writer killed mid-write leaves the last commit intact."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from search.analysis import analyse
from search.backends.base import Filters
from search.backends.local import LocalOptions, NamespaceStore
from search.backends.local.store import NamespaceReader

ROOT = Path(__file__).resolve().parents[2]
NS = "shared"

WRITER = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kmsite.settings.test")
import django
django.setup()
from search.backends.local import LocalOptions, NamespaceStore
from tests.search.contract import record
store = NamespaceStore(sys.argv[1], "shared", LocalOptions())
{body}
"""


def run_writer(root, body, wait=True):
    code = WRITER.format(body=textwrap.dedent(body))
    proc = subprocess.Popen([sys.executable, "-c", code, str(root)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    if wait:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    return proc


def pages(reader, text):
    snap = reader.snapshot()
    from search.backends.local import lexical

    query = lexical.lexical_query(analyse(text), Filters(access=["public"]), LocalOptions().field_boosts)
    return sorted(snap.searcher.doc(a).get_first("page_id") for _s, a in snap.searcher.search(query, 10_000).hits)


@pytest.fixture
def root(tmp_path):
    return tmp_path / "index"


def test_a_commit_by_another_process_is_seen_by_the_next_search(root):
    reader = NamespaceReader(NamespaceStore(root, NS, LocalOptions()))
    run_writer(root, 'store.write({1: [record(1, 0, "harbour dues")]})')
    assert pages(reader, "harbour") == [1]
    run_writer(root, 'store.write({2: [record(2, 0, "harbour pilots")]}, deleted=[1])')
    assert pages(reader, "harbour") == [2]  # no restart, no wait


def test_writers_in_several_processes_serialise_and_lose_nothing(root):
    body = """
        first = int(sys.argv[2])
        for pid in range(first, first + 25):
            store.write({pid: [record(pid, 0, f"ferry timetable {pid}"), record(pid, 1, "ferry fares")]})
    """
    code = WRITER.format(body=textwrap.dedent(body))
    procs = [subprocess.Popen([sys.executable, "-c", code, str(root), str(first)], cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for first in (1, 101, 201)]
    for p in procs:
        _out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    reader = NamespaceReader(NamespaceStore(root, NS, LocalOptions()))
    expected = sorted(range(1, 26)) + sorted(range(101, 126)) + sorted(range(201, 226))
    assert pages(reader, "ferry") == sorted(expected * 2)  # two passages a page
    snap = reader.snapshot()
    uids = [int(u) for s in snap.segments for u, live in zip(s.uids, s.live_mask()) if live]
    assert len(uids) == len(set(uids)) == 150  # every chunk's vector once, ids never shared


def test_a_writer_killed_mid_write_leaves_the_last_commit_searchable(root):
    run_writer(root, 'store.write({1: [record(1, 0, "lighthouse keepers")]})')
    killed = run_writer(root, """
        big = {pid: [record(pid, 0, f"lighthouse lamp {pid}")] for pid in range(2, 20002)}
        print("writing", flush=True)
        store.write(big, deleted=[1])
        print("done", flush=True)
    """, wait=False)
    assert killed.stdout.readline().strip() == "writing"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(30)
    reader = NamespaceReader(NamespaceStore(root, NS, LocalOptions()))
    found = pages(reader, "lighthouse")
    # either the write never committed (what was there stays) or it did in
    # full; never a part of it, never nothing
    assert found == [1] or found == list(range(2, 20002)), found[:5]
    run_writer(root, 'store.write({3: [record(3, 0, "lighthouse relief")]})')  # the lock went with the process
    assert 3 in pages(reader, "lighthouse")
