"""Where `netwatch run`'s event loop spends its CPU: every callback, its count and CPU per second.

The fixed cost of the process (timers, engine ticks, self-metrics, scrapes...) is a few ms a
second: at 1,000 devices py-spy's 50 Hz samples see ~75 busy stacks a minute, too few to
rank it. This runs netwatch in a child whose loop times each callback (thread CPU, grouped
by the task's coroutine or the callback's function), plus the garbage collector and the
other threads, over --seconds after one interval of warm-up and the heap's settle, scraping
/metrics every 15 s as run_bench does. It also counts the loop's real sleeps (a select() with a
timeout that waited) and, for each, what ended it (a socket, or the earliest timer due) and
what else was ready in that turn: on a 2-core VM a vCPU that slept wakes to cold caches.
Same inventory as run_bench (a fifth polled over SNMP from snmpd, in a network namespace of
its own: needs root). The child runs whatever `netwatch` the
interpreter running this script imports (run it with main's venv to census main).

    .venv/bin/python bench/loop_census.py [--devices 1000] [--seconds 60] [--top 30]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_bench
import scale_curve

INTERVAL = 30

# The child: patches the loop's Handle._run, then runs `netwatch run`. SIGUSR1 starts the
# census (resets it), SIGUSR2 writes it to the file named in argv[1].
CHILD = r"""
import asyncio, gc, json, os, signal, sys, threading, time
from asyncio import events

out = sys.argv[1]
# Profile (cProfile) the callbacks whose names hold one of these ("|"-separated).
detail = [d for d in os.environ.get("NW_CENSUS_DETAIL", "").split("|") if d]
profiler = None
if detail:
    import cProfile
    profiler = cProfile.Profile(time.thread_time)
stats = {}
gc_stats = {"count": 0, "cpu": 0.0}
t0 = [time.thread_time(), time.monotonic(), time.process_time()]

def key(handle):
    cb = handle._callback
    owner = getattr(cb, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        return "task " + getattr(coro, "__qualname__", repr(coro))
    if type(cb).__name__ == "TaskStepMethWrapper":
        return "task step"
    func = getattr(cb, "__func__", cb)
    name = getattr(func, "__qualname__", type(func).__name__)
    mod = getattr(func, "__module__", "") or ""
    if owner is not None and name.endswith("_read_ready"):
        proto = getattr(owner, "_protocol", None)
        name += "[" + type(proto).__name__ + "]"
    return f"{mod}.{name}" if mod else name

original = events.Handle._run

def timed(self):
    start = time.thread_time()
    k = key(self)
    deep = profiler is not None and any(d in k for d in detail)
    if deep:
        profiler.enable()
    try:
        return original(self)
    finally:
        if deep:
            profiler.disable()
        entry = stats.get(k)
        if entry is None:
            entry = stats[k] = [0, 0.0]
        entry[0] += 1
        entry[1] += time.thread_time() - start

events.Handle._run = timed
turns = [0]  # the loop's turns (one select each): its wake-ups
_run_once = asyncio.base_events.BaseEventLoop._run_once

def counted_run_once(self):
    turns[0] += 1
    return _run_once(self)

asyncio.base_events.BaseEventLoop._run_once = counted_run_once

# Real sleeps: a select() with a timeout that returned after a wait (SLEPT or more), and what
# ended it: the socket(s) it returned, else the earliest timer due (a thread's call_soon_
# threadsafe shows as the self-pipe). Every source ready in that turn is counted as present.
import functools, selectors
SLEPT = 50e-6  # seconds: a select back sooner found its events waiting (no sleep)
sleeps = {"selects": 0, "nonblocking": 0, "at_once": 0, "slept": 0, "slept_s": 0.0}
woke_by, present, alone = {}, {}, {}
cur_loop = [None]

def _counted_run_once(self, _inner=counted_run_once):
    cur_loop[0] = self
    return _inner(self)

asyncio.base_events.BaseEventLoop._run_once = _counted_run_once

def _task_of(fut):
    for cb in getattr(fut, "_callbacks", None) or ():
        fn = cb[0] if isinstance(cb, tuple) else cb
        owner = getattr(fn, "__self__", None)
        if isinstance(owner, asyncio.Task):
            return owner
    return None

def _coro_name(task):
    coro = task.get_coro()
    return getattr(coro, "__qualname__", repr(coro))

def timer_name(handle):
    cb, args = handle._callback, handle._args
    owner = getattr(cb, "__self__", None)
    if type(owner).__name__ == "Timeout" and getattr(owner, "_task", None) is not None:
        return "timeout of task " + _coro_name(owner._task)  # asyncio.timeout(_at)
    name = getattr(cb, "__name__", "")
    fut = None
    if name in ("_set_result_unless_cancelled", "_release_waiter") and args:
        fut = args[0]  # asyncio.sleep, wait_for's timeout
    if fut is not None and (task := _task_of(fut)) is not None:
        return ("sleep of task " if name.startswith("_set") else "wait_for of task ") + (
            _coro_name(task))
    return "timer " + key(handle)

def fd_name(k, mask):
    data = k.data if isinstance(k.data, tuple) else (None, None)
    h = data[0] if mask & selectors.EVENT_READ and data[0] is not None else data[1]
    return "fd " + (key(h) if h is not None else str(k.fd))

_select = selectors.EpollSelector.select

def counted_select(self, timeout=None):
    start = time.perf_counter()
    ready = _select(self, timeout)
    waited = time.perf_counter() - start
    sleeps["selects"] += 1
    if timeout is not None and timeout <= 0:
        sleeps["nonblocking"] += 1
        return ready
    if waited < SLEPT:
        sleeps["at_once"] += 1
        return ready
    sleeps["slept"] += 1
    sleeps["slept_s"] += waited
    sources = [fd_name(k, mask) for k, mask in ready]
    cause = sources[0] if sources else None
    loop = cur_loop[0]
    if loop is not None:
        end = loop.time() + loop._clock_resolution
        due = sorted((h for h in loop._scheduled if not h._cancelled and h._when < end),
                     key=lambda h: h._when)
        sources += [timer_name(h) for h in due]
        if cause is None and due:
            cause = sources[0]
    cause = cause or "(nothing: a timer cancelled meanwhile)"
    woke_by[cause] = woke_by.get(cause, 0) + 1
    distinct = set(sources)
    for src in distinct:
        present[src] = present.get(src, 0) + 1
    if len(distinct) == 1:
        alone[cause] = alone.get(cause, 0) + 1
    return ready

selectors.EpollSelector.select = counted_select
gc_start = [0.0]

def on_gc(phase, info):
    if threading.current_thread() is not threading.main_thread():
        return
    if phase == "start":
        gc_start[0] = time.thread_time()
    else:
        gc_stats["count"] += 1
        gc_stats["cpu"] += time.thread_time() - gc_start[0]

gc.callbacks.append(on_gc)

def reset(*_):
    stats.clear()
    turns[0] = 0
    sleeps.update(selects=0, nonblocking=0, at_once=0, slept=0, slept_s=0.0)
    woke_by.clear(); present.clear(); alone.clear()
    if profiler is not None:
        profiler.clear()
    gc_stats.update(count=0, cpu=0.0)
    t0[:] = [time.thread_time(), time.monotonic(), time.process_time()]

def threads_cpu():
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            name = open(f"/proc/self/task/{tid}/comm").read().strip()
            f = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[f"{tid}:{name}"] = (int(f[11]) + int(f[12])) / tick
    return out

threads0 = [threads_cpu()]
_reset = reset
def reset(*_):
    _reset()
    threads0[0] = threads_cpu()

def dump(*_):
    now = threads_cpu()
    doc = {
        "wall": time.monotonic() - t0[1],
        "main_thread_cpu": time.thread_time() - t0[0],
        "process_cpu": time.process_time() - t0[2],
        "callbacks": {k: v for k, v in stats.items()},
        "loop_turns": turns[0],
        "sleeps": dict(sleeps),
        "woke_by": dict(woke_by),
        "present": dict(present),
        "alone": dict(alone),
        "gc": dict(gc_stats),
        "threads": {k: v - threads0[0].get(k, 0.0) for k, v in now.items()},
    }
    if profiler is not None:
        profiler.dump_stats(out + ".prof")
    with open(out, "w") as fh:
        json.dump(doc, fh)

signal.signal(signal.SIGUSR1, reset)
signal.signal(signal.SIGUSR2, dump)
from netwatch.cli import main
sys.argv = ["netwatch", *sys.argv[2:]]
sys.exit(main())
"""


def start(
    cfg: Path, work: Path, out: Path, detail: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = run_bench.free_port()
    args = ["run", "--config", str(cfg), "--listen", f"127.0.0.1:{port}", "--log-level", "warning"]
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), *args],
        cwd=work,  # not the repository: the interpreter's own netwatch is imported
        stdout=subprocess.DEVNULL,
        stderr=open(work / "netwatch.log", "w"),  # noqa: SIM115 (lives as long as the child)
        env={**os.environ, run_bench.COMMUNITY_ENV: "public", "NW_CENSUS_DETAIL": detail or ""},
    )
    return proc, f"http://127.0.0.1:{port}/metrics"


def census(devices: int, seconds: float, warmup: float, detail: str | None = None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="nw-census-"))
    cfg = work / "bench.yaml"
    run_bench.write_config(cfg, devices, INTERVAL, run_bench.SNMP_PORT)
    out = work / "census.json"
    proc, url = start(cfg, work, out, detail)
    try:
        if not run_bench.ready(proc, url, work, devices):
            raise SystemExit("netwatch did not answer /metrics")
        time.sleep(warmup)
        # After the heap's one-off settle (one full collection a poll interval after the
        # start, ~20-30 ms at 1,000 devices): inside the window it was ~0.5-0.7 ms/s of noise.
        scale_curve.settled(url, time.monotonic() + scale_curve.SETTLE_WAIT)
        proc.send_signal(signal.SIGUSR1)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            run_bench.scrape(url)
            time.sleep(max(0.0, min(15.0, end - time.monotonic())))
        proc.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 10
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written in one piece, but give it a moment
        doc = json.loads(out.read_text())
        if detail:
            import pstats

            print(f"cProfile (thread CPU) of the callbacks whose name holds {detail!r}:")
            pstats.Stats(str(out) + ".prof").sort_stats("tottime").print_stats(25)
        return doc
    finally:
        run_bench.stop(proc)


def show(doc: dict, top: int) -> None:
    wall = doc["wall"]
    cbs = sorted(doc["callbacks"].items(), key=lambda kv: -kv[1][1])
    in_callbacks = sum(v[1] for _, v in cbs)
    ms = doc["main_thread_cpu"] - in_callbacks
    print(f"measured {wall:.1f} s: process CPU {doc['process_cpu'] / wall * 1e3:.2f} ms/s, "
          f"main thread {doc['main_thread_cpu'] / wall * 1e3:.2f} ms/s, in callbacks "
          f"{in_callbacks / wall * 1e3:.2f} ms/s")  # fmt: skip
    print(f"loop itself (select, timers) {ms / wall * 1e3:.2f} ms/s in "
          f"{doc['loop_turns'] / wall:.1f} turns/s; GC {doc['gc']['cpu'] / wall * 1e3:.2f} "
          f"ms/s ({doc['gc']['count']} collections, inside the callbacks' figures)")  # fmt: skip
    print(f"{'ms/s':>7} {'calls/s':>8} {'µs/call':>8}  callback")
    for name, (n, cpu) in cbs[:top]:
        print(f"{cpu / wall * 1e3:7.3f} {n / wall:8.1f} {cpu / n * 1e6:8.1f}  {name}")
    sl = doc.get("sleeps")
    if sl:
        print(f"select() {sl['selects'] / wall:.1f}/s: {sl['nonblocking'] / wall:.1f} without a "
              f"timeout (callbacks ready), {sl['at_once'] / wall:.1f} back at once, "
              f"**{sl['slept'] / wall:.1f} real sleeps/s** (mean "
              f"{sl['slept_s'] / max(sl['slept'], 1) * 1e3:.1f} ms)")  # fmt: skip
        print(
            f"{'woke/s':>7} {'alone/s':>7} {'ready/s':>7}  source (what ended a sleep; alone: "
            "nothing else ready in that turn; ready: in the turn of a sleep, whoever ended it)"
        )
        names = set(doc["woke_by"]) | set(doc["present"])
        woke, alone, ready = doc["woke_by"], doc["alone"], doc["present"]
        for name in sorted(names, key=lambda n: (-woke.get(n, 0), -ready.get(n, 0)))[:top]:
            print(f"{woke.get(name, 0) / wall:7.2f} {alone.get(name, 0) / wall:7.2f} "
                  f"{ready.get(name, 0) / wall:7.2f}  {name}")  # fmt: skip
    busy = {k: v for k, v in doc["threads"].items() if v > 0}
    print("threads (CPU ms/s):", {k: round(v / wall * 1e3, 2) for k, v in busy.items()})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--warmup", type=float, default=INTERVAL, help="seconds before measuring")
    ap.add_argument("--json", type=Path, help="also write the census here")
    ap.add_argument("--detail", help="cProfile the callbacks whose name holds this (slower)")
    ap.add_argument("--in-netns", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.in_netns:
        return run_bench.in_netns(__file__, sys.argv[1:])
    with run_bench.running_snmpd(
        host="0.0.0.0", port=run_bench.SNMP_PORT, extra_conf=["rocommunity public 127.0.0.0/8"]
    ):
        doc = census(args.devices, args.seconds, args.warmup, args.detail)
    show(doc, args.top)
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
