"""What holds `netwatch run`'s event loop while it reloads an edited inventory, by time.

run_bench's reloading window (a one-line edit of the inventory and a /-/reload every 30 s)
moves netwatch's own lag p99 by a bucket or two (issue 10: a reload must not stall polling).
This runs netwatch in a child that records, from SIGUSR1 on: every loop callback whose wall
time is over --long ms (its wall AND its thread CPU: a callback whose wall is far above its
CPU waited for the GIL, e.g. behind the thread that unpickles the loader's answer), every
loop turn busy that long, timers that fired late by that much, every pass of the cyclic
garbage collector (any thread), every scheduler lag observation, and when each step of the
reload ran (load, decode in its thread, state, scheduler, traps, alerts, public board).
After warm-up and the heap's settle it does what run_bench's reloading window does: the
edit, the POST /-/reload, a scrape right after (like Prometheus, OpenMetrics+gzip), --reloads
times, --gap seconds apart; then it prints each reload's timeline from 1 s before it to
--after seconds after its scrape. Same inventory as run_bench (a fifth polled over SNMP from
snmpd in a network namespace of its own: needs root). The child runs whatever `netwatch`
the interpreter running this script imports.

    .venv/bin/python bench/reload_lag.py [--devices 50000] [--reloads 2] [--json out.json]
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

CHILD = r"""
import asyncio, functools, gc, json, os, signal, sys, threading, time
from asyncio import events

out = sys.argv[1]
LONG = float(os.environ.get("NW_RELOAD_LAG_LONG_MS", "10")) / 1e3
mono, tcpu = time.monotonic, time.thread_time
on = [False]
rec = {"callbacks": [], "turns": [], "late": [], "gc": [], "lag": [], "marks": []}

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
    return f"{mod}.{name}" if mod else name

active = []  # the reload's steps running now (names), innermost last

original = events.Handle._run
def timed(self):
    w0, c0 = mono(), tcpu()
    try:
        return original(self)
    finally:
        wall = mono() - w0
        if on[0] and wall >= LONG:
            rec["callbacks"].append((w0, wall, tcpu() - c0, key(self), "/".join(active)))
events.Handle._run = timed

_run_once = asyncio.base_events.BaseEventLoop._run_once
woke = [0.0]
cur_loop = [None]
def run_once(self):
    cur_loop[0] = self
    _run_once(self)
    end = mono()
    if on[0] and end - woke[0] >= LONG:
        rec["turns"].append((woke[0], end - woke[0]))
asyncio.base_events.BaseEventLoop._run_once = run_once

import selectors
_select = selectors.EpollSelector.select
def select(self, timeout=None):
    ready = _select(self, timeout)
    now = woke[0] = mono()
    loop = cur_loop[0]
    if on[0] and loop is not None and loop._scheduled:
        first = loop._scheduled[0]
        late = loop.time() - first._when
        if late >= LONG and not first._cancelled:
            rec["late"].append((now, late, key(first)))
    return ready
selectors.EpollSelector.select = select

gc_t = {}
def on_gc(phase, info):
    tid = threading.get_ident()
    if phase == "start":
        gc_t[tid] = (mono(), tcpu())
        return
    w0, c0 = gc_t.pop(tid, (mono(), tcpu()))
    if on[0]:
        rec["gc"].append((w0, mono() - w0, tcpu() - c0, info["generation"], info["collected"],
                          threading.current_thread().name))
gc.callbacks.append(on_gc)

def mark(name, w0, c0):
    if on[0]:
        rec["marks"].append((name, w0, mono() - w0, tcpu() - c0,
                             threading.current_thread().name))

def wrap_sync(owner, attr, name):
    fn = getattr(owner, attr, None)
    if fn is None:  # another tree's code: not every step exists there
        return
    @functools.wraps(fn)
    def wrapper(*a, **k):
        w0, c0 = mono(), tcpu()
        active.append(name)
        try:
            return fn(*a, **k)
        finally:
            active.remove(name)
            mark(name, w0, c0)
    setattr(owner, attr, wrapper)

def wrap_async(owner, attr, name):
    fn = getattr(owner, attr, None)
    if fn is None:
        return
    @functools.wraps(fn)
    async def wrapper(*a, **k):
        w0 = mono()
        active.append(name)
        try:
            return await fn(*a, **k)
        finally:
            active.remove(name)
            mark(name, w0, float("nan"))
    setattr(owner, attr, wrapper)

from netwatch.core import runtime, scheduler, state
from netwatch.config import isolated
from netwatch.alerting import service, engine

def observe(self, collector, scheduled, _orig=scheduler.Scheduler._observe_lag):
    if on[0]:
        from datetime import UTC, datetime
        rec["lag"].append((mono(), (datetime.now(UTC) - scheduled).total_seconds(), collector))
    return _orig(self, collector, scheduled)
scheduler.Scheduler._observe_lag = observe

wrap_async(runtime.Runtime, "_reload", "reload")
wrap_async(isolated, "load_changed", "load_changed")
wrap_sync(isolated, "_decode", "decode")
wrap_sync(isolated, "_receive", "receive")
wrap_sync(runtime.Runtime, "_prepare", "prepare")
wrap_sync(state.State, "replace_inventory", "state.replace_inventory")
wrap_async(scheduler.Scheduler, "sync_async", "scheduler.sync_async")
wrap_async(runtime.Runtime, "_reload_traps", "reload_traps")
wrap_sync(service.AlertService, "reload", "alerts.reload")
wrap_async(runtime, "in_turns", "in_turns")  # (the state's, then the alerts')
wrap_async(isolated, "in_turns", "decode in turns")
wrap_sync(engine.Engine, "set_inventory", "engine.set_inventory")
_inv_eq = runtime.Inventory.__eq__
def inv_eq(a, b):
    w0, c0 = mono(), tcpu()
    try:
        return _inv_eq(a, b)
    finally:
        mark("Inventory.__eq__", w0, c0)
runtime.Inventory.__eq__ = inv_eq
try:
    from netwatch.public import board
    wrap_sync(board.PublicBoard, "reload", "public.reload")
except Exception:
    pass
from netwatch.core import notifier_health
try:
    import importlib
    icmp_probe = importlib.import_module("netwatch.collectors.icmp.probe")  # (not its probe())
    wrap_sync(icmp_probe.IcmpCollector, "follow", "icmp.follow")
except Exception:
    pass
wrap_sync(notifier_health.NotifierWatch, "check", "notifiers.check")

def start(*_):
    for v in rec.values():
        v.clear()
    on[0] = True

def dump(*_):
    on[0] = False
    with open(out + ".tmp", "w") as fh:
        json.dump(rec, fh)
    os.replace(out + ".tmp", out)

signal.signal(signal.SIGUSR1, start)
signal.signal(signal.SIGUSR2, dump)
from netwatch.cli import main
sys.argv = ["netwatch", *sys.argv[2:]]
sys.exit(main())
"""


def start(cfg: Path, work: Path, out: Path, long_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port = run_bench.free_port()
    args = ["run", "--config", str(cfg), "--listen", f"127.0.0.1:{port}", "--log-level", "warning"]
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out), *args],
        cwd=work,  # not the repository: the interpreter's own netwatch is imported
        stdout=subprocess.DEVNULL,
        stderr=open(work / "netwatch.log", "w"),  # noqa: SIM115 (lives as long as the child)
        env={
            **os.environ,
            run_bench.COMMUNITY_ENV: "public",
            "NW_RELOAD_LAG_LONG_MS": str(long_ms),
        },
    )
    return proc, f"http://127.0.0.1:{port}/metrics"


def record(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="nw-reloadlag-"))
    cfg = work / "bench.yaml"
    run_bench.write_config(cfg, args.devices, INTERVAL, run_bench.SNMP_PORT)
    out = work / "reload_lag.json"
    proc, url = start(cfg, work, out, args.long)
    try:
        if not run_bench.ready(proc, url, work, args.devices):
            raise SystemExit("netwatch did not answer /metrics")
        print(f"ready; warm-up {args.warmup:.0f} s", flush=True)
        time.sleep(args.warmup)
        scale_curve.settled(url, time.monotonic() + scale_curve.SETTLE_WAIT)
        proc.send_signal(signal.SIGUSR1)
        run_bench.scrape(url)
        reloads = []
        for r in range(args.reloads):
            time.sleep(args.gap)
            t0 = time.monotonic()
            run_bench.edit_one_line(cfg, 1000 + r)
            posted = time.monotonic()
            took = run_bench.reload(url)
            t1 = time.monotonic()
            scrape_s, _ = run_bench.scrape(url)
            done = time.monotonic()
            reloads.append({"edit": t0, "posted": posted, "answered": t1, "scraped": done})
            print(f"reload {r + 1}: {took:.2f} s, scrape after it {scrape_s:.2f} s", flush=True)
        time.sleep(args.after)
        proc.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 30
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        doc = json.loads(out.read_text())
        doc["reloads"] = reloads
        doc["long_ms"] = args.long
        return doc
    finally:
        run_bench.stop(proc)


def show(doc: dict, after: float) -> None:
    long_s = doc["long_ms"] / 1e3
    for n, r in enumerate(doc["reloads"], 1):
        t0, t1 = r["posted"] - 1.0, r["scraped"] + after
        base = r["posted"]

        def inside(t: float, t0: float = t0, t1: float = t1) -> bool:
            return t0 <= t <= t1

        print(f"\n=== reload {n}: answered after {r['answered'] - base:.3f} s, scrape done at "
              f"+{r['scraped'] - base:.3f} s (times from the POST) ===")  # fmt: skip
        events = []
        for name, w0, wall, cpu, thread in doc["marks"]:
            if inside(w0):
                cpu_s = "" if cpu != cpu else f" cpu {cpu * 1e3:.1f} ms"
                events.append((w0, f"step {name} [{thread}] {wall * 1e3:.1f} ms{cpu_s}"))
        for w0, wall, cpu, k, step in doc["callbacks"]:
            if inside(w0):
                gil = "  <- waited (wall >> cpu)" if wall > 2 * cpu + 0.005 else ""
                where = f" in {step}" if step else ""
                events.append((w0, f"CALLBACK {wall * 1e3:.1f} ms wall, {cpu * 1e3:.1f} ms "
                                   f"cpu: {k}{where}{gil}"))  # fmt: skip
        for w0, busy in doc["turns"]:
            if inside(w0) and busy >= 2 * long_s:
                events.append((w0, f"turn busy {busy * 1e3:.1f} ms"))
        for w0, late, k in doc["late"]:
            if inside(w0):
                events.append((w0, f"timer {late * 1e3:.1f} ms late: {k}"))
        for w0, wall, cpu, gen, collected, thread in doc["gc"]:
            if inside(w0) and (wall >= 0.002 or gen == 2):
                events.append((w0, f"gc gen {gen} [{thread}] {wall * 1e3:.1f} ms wall "
                                   f"{cpu * 1e3:.1f} cpu, {collected} collected"))  # fmt: skip
        for t, e in sorted(events):
            print(f"{t - base:+8.3f}  {e}")
        lags = [(t, lag) for t, lag, _ in doc["lag"] if inside(t)]
        over = [(t, lag) for t, lag in lags if lag > 0.025]
        print(f"lag observations in this span: {len(lags)}, over 25 ms: {len(over)}, "
              f"over 0.1 s: {sum(1 for _, x in lags if x > 0.1)}")  # fmt: skip
        by: dict[float, list[float]] = {}
        for t, lag in over:
            by.setdefault(round(t - base, 1), []).append(lag)
        for t, xs in sorted(by.items()):
            print(f"  {t:+6.1f} s: {len(xs)} runs, lag max {max(xs) * 1e3:.0f} ms")
    allgc = doc["gc"]
    print(f"\nwhole recording: {len(doc['lag'])} lag observations, "
          f"{sum(1 for _, x, _ in doc['lag'] if x > 0.1)} over 0.1 s; gc passes by generation "
          f"{[sum(1 for g in allgc if g[3] == k) for k in range(3)]}, longest "
          f"{max((g[1] for g in allgc), default=0) * 1e3:.1f} ms")  # fmt: skip
    walls = [c[1] for c in doc["callbacks"]]
    print(f"longest loop callback {max(walls, default=0) * 1e3:.1f} ms; callbacks over "
          f"{doc['long_ms']:g} ms: {len(walls)}")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=50_000)
    ap.add_argument("--reloads", type=int, default=2)
    ap.add_argument("--gap", type=float, default=8.0, help="seconds before each reload")
    ap.add_argument("--after", type=float, default=3.0, help="seconds recorded after the last")
    ap.add_argument("--warmup", type=float, default=run_bench.SNMP_INTERVAL + 5.0)
    ap.add_argument("--long", type=float, default=10.0, help="ms: a callback this long is kept")
    ap.add_argument("--json", type=Path, help="also write the recording here")
    ap.add_argument("--in-netns", help=argparse.SUPPRESS)
    args = ap.parse_args()
    # SIGTERM ends the run through the finally blocks: netwatch, snmpd and the namespace go.
    signal.signal(signal.SIGTERM, run_bench._give_up)
    if not args.in_netns:
        return run_bench.in_netns(__file__, sys.argv[1:])
    with run_bench.running_snmpd(
        host="0.0.0.0", port=run_bench.SNMP_PORT, extra_conf=["rocommunity public 127.0.0.0/8"]
    ):
        doc = record(args)
    if args.json:
        args.json.write_text(json.dumps(doc) + "\n")
    show(doc, args.after)
    return 0


if __name__ == "__main__":
    sys.exit(main())
