"""Where the load test's CPU goes: per component (web server, Celery worker,
PostgreSQL, Redis, load generator) and the machine's busy, idle and stolen
time, read from Linux's /proc; and a sampler that records both once a
second on the clock the requests are timed on (bench/load.py)."""

import os
import threading
import time
from pathlib import Path


def cpu_seconds_by_component(roots):
    """CPU seconds (user + system) used so far by each named group of
    processes: the given root PIDs with all their descendants, plus the
    database and Redis servers found by name. Linux /proc only."""
    tick = os.sysconf("SC_CLK_TCK")
    procs = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        procs[int(entry.name)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    names = {root: name for name, root in roots.items()}
    totals = {name: 0.0 for name in roots}
    totals.update({"postgresql": 0.0, "redis": 0.0})
    for pid, (comm, _ppid, cpu) in procs.items():
        owner, cursor, seen = None, pid, set()
        while cursor and cursor not in seen and owner is None:  # up the parents to a root
            seen.add(cursor)
            owner = names.get(cursor)
            cursor = procs.get(cursor, (None, 0, 0))[1]
        if owner:
            totals[owner] += cpu
        elif comm.startswith("postgres"):
            totals["postgresql"] += cpu
        elif comm.startswith("redis-server"):
            totals["redis"] += cpu
    return totals


def machine_cpu_seconds():
    """The whole machine's CPU time so far, from /proc/stat's first line:
    busy (user, nice, system, interrupts), idle (with I/O wait), and stolen
    (time the hypervisor gave this virtual machine's cores to another
    guest). Steal is what makes the same code run a tenth slower in one hour
    than in the next on a shared host. Linux only; {} elsewhere."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, idle, iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return {"busy": (user + nice + system + irq + softirq) / tick, "idle": (idle + iowait) / tick, "steal": steal / tick}


def wait_settled(roots, timeout=180, quiet=0.15):
    """Wait until the server processes have finished starting: the server
    answers as soon as its first worker is warm, while the other worker and
    the Celery worker may still be loading the model and the index (some
    15 s of CPU each here). Settled: two seconds in a row in which they used
    under ``quiet`` of a core. Returns the seconds waited."""
    started = time.monotonic()
    previous, calm = cpu_seconds_by_component(roots), 0
    while time.monotonic() - started < timeout and calm < 2:
        time.sleep(1)
        now = cpu_seconds_by_component(roots)
        busy = sum(now[k] - previous[k] for k in roots if k != "load generator")
        calm = calm + 1 if busy < quiet else 0
        previous = now
    return round(time.monotonic() - started, 1)



class CpuSampler(threading.Thread):
    """Samples the CPU seconds of each component (``cpu_seconds_by_component``)
    and the machine's steal once a second, on the clock the requests are
    timed on, so that a slow second can be laid beside what was busy in it:
    the web workers, the Celery worker, PostgreSQL (autovacuum included),
    Redis or the load generator itself. Reading /proc costs the generator
    a few milliseconds a second."""

    def __init__(self, roots, clock_start):
        super().__init__(daemon=True)
        self.roots, self.clock_start, self.stop = roots, clock_start, threading.Event()
        self.samples = []  # (seconds since clock_start, {component: cpu s}, {busy, idle, steal})

    def sample(self):
        self.samples.append((time.perf_counter() - self.clock_start, cpu_seconds_by_component(self.roots),
                             machine_cpu_seconds()))

    def run(self):
        tick = 0
        while True:
            self.sample()
            tick += 1
            if self.stop.wait(max(0.0, self.clock_start + tick - time.perf_counter())):
                self.sample()  # the last, partial second
                return

    def per_second(self):
        """{second: {component: cpu s used in it, "steal": s}} from consecutive samples."""
        rows = {}
        for (t0, cpu0, m0), (_t1, cpu1, m1) in zip(self.samples, self.samples[1:]):
            row = {k: round(cpu1[k] - cpu0[k], 2) for k in cpu1}
            if m0 and m1:
                row["steal"] = round(m1["steal"] - m0["steal"], 2)
            rows[int(t0 + 0.5)] = row
        return rows
