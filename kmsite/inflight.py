"""One computation of a missing cache entry at a time, per key, in a process.

When an entry everybody reads goes missing (a page just published, every
search after a restart), every request that asks for it in the meantime
misses too and computes it again. Under load that feeds on itself: the more
requests queue, the longer each computation takes and the more requests
arrive for the same entry while it runs. ``InFlight.once(key)`` lets the
first request compute while the others asking for the same key wait for it
and then read the cache again.

Waiting is bounded: a waiter whose leader takes longer than ``wait_seconds``
or fails goes on by itself (it reads the cache again, and computes if the
entry is still missing), so a slow or failed computation never holds the
others up for longer than that, and an error is never handed on to them.
"""

import contextlib
import threading


class _Flight:
    __slots__ = ("done", "thread")

    def __init__(self, thread):
        self.done, self.thread = threading.Event(), thread


class InFlight:
    def __init__(self, wait_seconds=2.0):
        self.wait_seconds = wait_seconds
        self._lock = threading.Lock()
        self._flights = {}

    @contextlib.contextmanager
    def once(self, key):
        """Yield True to the thread that should compute the entry for
        ``key`` (the first to ask while no computation of it is running),
        False to one that waited for another's: it should read the cache
        again and compute only if the entry is still missing. A thread that
        asks again for a key it is computing itself is told to compute."""
        me = threading.get_ident()
        with self._lock:
            flight = self._flights.get(key)
            leading = flight is None
            if leading:
                flight = self._flights[key] = _Flight(me)
        if not leading:
            if flight.thread == me:  # asked again within its own computation: nobody to wait for
                yield True
                return
            flight.done.wait(self.wait_seconds)
            yield False
            return
        try:
            yield True
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()

    def __len__(self):
        """How many computations are running now."""
        with self._lock:
            return len(self._flights)
