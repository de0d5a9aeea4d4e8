"""The alert engine's evaluation cost at scale (issue 10): one tick with every device answering.

Loads an inventory through the loader's child as `netwatch run` does, builds the state and the
alert engine (no tracer, a temporary database), reports one healthy echo-stream round per
device (and their up verdicts), evaluates once, then times `--ticks` evaluations: with nothing
new, and after `--changed` devices reported a new round (what 1 s of a 30 s ping interval
brings at this size), and prints a round report's cost from state.record to the end of that
tick (its share of the tick included). Then a mass outage (`--outage`): every device reports
down at once (an overloaded loop that loses echoes looks the same), the engine's own run()
evaluates it while another task counts the loop's turns (the longest wait between two turns
is the longest hold), and `--ticks` evaluations of the steady outage follow, with nothing new
and after a few devices came back and went down again. In-process: CPU seconds of this process
(time.process_time); the hold is wall time. Parents (POP routers) come with inventories that
have them (bench/synth_inventory.py); bench/run_bench.py's villages hang on none.

    .venv/bin/python bench/alert_eval_bench.py CONFIG [--ticks 5] [--changed 1667] [--outage]
        [--polled none|answered|clients]

--polled: an answered SNMP poll of every device with `snmp` first (`netwatch run` has one of
every fifth device in bench/run_bench.py's inventory; its snmpd lists no Wi-Fi clients:
`answered`), so the causes (link facts: ONU, uplink, controller, clients) have facts to read.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netwatch.alerting.engine import Engine
from netwatch.alerting.service import AlertService
from netwatch.cluster.member import Member
from netwatch.collectors.icmp.observation import DOWN, ROUND, UP, PingObservation, PingResult
from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation, SnmpSample
from netwatch.config.isolated import load
from netwatch.core.state import State


def report(name: str, address: str, t: float, event: str = ROUND) -> PingObservation:
    rtts = [0.0004, 0.0005, 0.0004, 0.0006, 0.0005]
    return PingObservation(name, t, PingResult(address, 5, 5, rtts), 30.0, event, True,
                           seen_at=t)  # fmt: skip


def down(name: str, address: str, t: float) -> PingObservation:
    """The stream's report of a device whose echoes are all lost: its verdict turned down."""
    return PingObservation(name, t, PingResult(address, 5, 0, []), 30.0, DOWN, False,
                           "no reply", True, t - 15.0, seen_at=t - 30.0)  # fmt: skip


def poll(name: str, t: float, clients: bool) -> SnmpObservation:
    """An SNMP poll that answered: one interface up, and with clients an AP's 3 clients."""
    wifi = [SnmpSample("wifi_clients", 3.0, (("scope", "device"),))] if clients else []
    iface = SnmpInterface(1, "eth0", if_type=6, admin_status=1, oper_status=1)
    return SnmpObservation(name, t, uptime_ticks=100, interfaces=[iface], wifi_clients=wifi)


async def _longest_hold(engine: Engine) -> tuple[float, float]:
    """Run the engine until it finished one evaluation; the longest wait (seconds) another
    task had between two turns of the loop meanwhile, and the longest garbage collection
    (the interpreter's, not the engine's to slice)."""
    pauses = [0.0]
    began = [0.0]

    def timed(phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            pauses.append(time.perf_counter() - began[0])

    gc.callbacks.append(timed)
    stop = asyncio.Event()
    before = engine.snapshot().evaluations  # (published when an evaluation is done)
    longest = 0.0
    runner = asyncio.create_task(engine.run(stop))
    last = time.perf_counter()
    deadline = last + 120.0
    while engine.snapshot().evaluations == before and last < deadline:
        await asyncio.sleep(0)
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
    stop.set()
    await runner
    gc.callbacks.remove(timed)
    return longest, max(pauses)


def outage(
    engine: Engine, state: State, names: list[str], t: float, ticks: int, quiet: float
) -> list[str]:
    """Every device down at once: the first evaluation's hold, then the steady outage."""
    inventory = engine.inventory
    for name in names:
        state.record(down(name, inventory.devices[name].address, t))
    c = time.process_time()
    hold, gc_pause = asyncio.run(_longest_hold(engine))
    first = time.process_time() - c
    waiting = []  # within upstream_wait of the outage: a village may still wait for a parent
    for _ in range(3):
        t += 1.0
        c = time.process_time()
        engine.evaluate(t)
        waiting.append(time.process_time() - c)
    t += engine.settings.upstream_wait
    engine.evaluate(t)
    idle, busy = [], []
    flapping = names[:: max(1, len(names) // 50)]  # 50 devices come back and go down again
    for k in range(ticks):
        t += 1.0
        c = time.process_time()
        engine.evaluate(t)
        idle.append(time.process_time() - c)
        for name in flapping:
            address = inventory.devices[name].address
            state.record(report(name, address, t, UP) if k % 2 == 0 else down(name, address, t))
        t += 1.0
        c = time.process_time()
        engine.evaluate(t)
        busy.append(time.process_time() - c)
    snap = engine.snapshot()
    shown_down = sum(1 for s in snap.shown.values() if s == "down")
    steady = statistics.median(idle)
    return [
        f"mass outage: {len(snap.alerts)} alerts open, {shown_down} villages shown down, "
        f"{sum(snap.notifications.values())} notifications",
        f"first evaluation of the outage: {first * 1000:.0f} ms CPU, "
        f"longest loop hold {hold * 1000:.0f} ms (longest garbage collection in it: "
        f"{gc_pause * 1000:.0f} ms)",
        f"outage tick within upstream_wait: median {statistics.median(waiting) * 1000:.1f} ms CPU",
        f"outage tick, nothing new:  median {steady * 1000:.1f} ms CPU "
        f"({steady / max(quiet, 1e-9):.1f}x the quiet tick)",
        f"outage tick, {len(flapping)} devices back or down again: "
        f"median {statistics.median(busy) * 1000:.1f} ms CPU",
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("--ticks", type=int, default=5)
    ap.add_argument("--changed", type=int, default=None, help="default: devices / 30")
    ap.add_argument("--outage", action="store_true", help="then every device down at once")
    ap.add_argument(
        "--freeze",
        action="store_true",
        help="gc.freeze() before the outage (what a runtime that froze its start-up heap saw)",
    )
    ap.add_argument(
        "--polled",
        choices=("none", "answered", "clients"),
        default="none",
        help="an answered SNMP poll of each SNMP device first (clients: an AP's with 3 clients)",
    )
    ap.add_argument(
        "--full",
        action="store_true",
        help="every village and parent every tick (as before quiet villages)",
    )
    args = ap.parse_args()
    # The outage's 25,000 notifications have no receiver here: a warning each, not measured.
    logging.disable(logging.WARNING)
    inventory = load(args.config, Member())
    names = list(inventory.devices)
    changed = args.changed if args.changed is not None else len(names) // 30
    with tempfile.TemporaryDirectory() as tmp:
        alerting = dataclasses.replace(
            inventory.settings.alerting, db_path=f"{tmp}/alerts.sqlite3", traceroute=False
        )
        inventory = dataclasses.replace(
            inventory, settings=dataclasses.replace(inventory.settings, alerting=alerting)
        )
        state = State(inventory)
        service = AlertService.create(inventory, state, None, tracer=False)
        engine = service.engine
        engine.incremental = not args.full
        t = time.time()
        for name in names:
            state.record(report(name, inventory.devices[name].address, t, UP))
        if args.polled != "none":  # what `netwatch run` has: the SNMP fifth's facts
            for name in names:
                if inventory.devices[name].snmp is not None:
                    state.record(poll(name, t, args.polled == "clients"))
        c = time.process_time()
        engine.evaluate()
        first = time.process_time() - c
        idle, busy, record = [], [], []
        for k in range(args.ticks):
            c = time.process_time()
            engine.evaluate()
            idle.append(time.process_time() - c)
            t += 1.0
            start = (k * changed) % len(names)
            batch = [
                report(n, inventory.devices[n].address, t) for n in (names * 2)[start:][:changed]
            ]
            c = time.process_time()
            for obs in batch:
                state.record(obs)
            record.append((time.process_time() - c) / max(1, len(batch)))
            c = time.process_time()
            engine.evaluate()
            busy.append(time.process_time() - c)
        snap = engine.snapshot()
        up = sum(1 for s in snap.shown.values() if s == "up")
        lost = []
        if args.freeze:
            gc.freeze()
        if args.outage:
            lost = outage(engine, state, names, t + 1.0, args.ticks, statistics.median(idle))
        engine.store.close()
    print(
        f"{len(names)} devices, {len(inventory.villages)} villages ({up} shown up), "
        f"{len(engine.topology.upstream)} parents, "
        f"{changed} devices with a new round before each busy tick"
    )
    print(
        "every village and parent every tick" if args.full else "quiet villages and parents skipped"
    )
    print(f"first evaluation: {first * 1000:.0f} ms CPU")
    print(f"tick, nothing new:  median {statistics.median(idle) * 1000:.1f} ms CPU")
    print(f"tick, {changed} new rounds: median {statistics.median(busy) * 1000:.1f} ms CPU")
    print(
        f"state.record of a round (state, alert intake): {statistics.median(record) * 1e6:.1f} µs"
    )
    through = statistics.median(record) + statistics.median(busy) / max(1, changed)
    print(f"a round report through state, intake, tracker and its tick: {through * 1e6:.1f} µs")
    for line in lost:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
