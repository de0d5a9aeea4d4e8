"""The alert engine's evaluation cost at scale (issue 10): one tick with every device answering.

Loads an inventory through the loader's child as `netwatch run` does, builds the state and the
alert engine (no tracer, a temporary database), reports one healthy echo-stream round per
device (and their up verdicts), evaluates once, then times `--ticks` evaluations: with nothing
new, and after `--changed` devices reported a new round (what 1 s of a 30 s ping interval
brings at this size), and prints a round report's cost from state.record to the end of that
tick (its share of the tick included). In-process: CPU seconds of this process
(time.process_time). Parents (POP routers) come with inventories that have them
(bench/synth_inventory.py); bench/run_bench.py's villages hang on none.

    .venv/bin/python bench/alert_eval_bench.py CONFIG [--ticks 5] [--changed 1667]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netwatch.alerting.service import AlertService
from netwatch.cluster.member import Member
from netwatch.collectors.icmp.observation import ROUND, UP, PingObservation, PingResult
from netwatch.config.isolated import load
from netwatch.core.state import State


def report(name: str, address: str, t: float, event: str = ROUND) -> PingObservation:
    rtts = [0.0004, 0.0005, 0.0004, 0.0006, 0.0005]
    return PingObservation(name, t, PingResult(address, 5, 5, rtts), 30.0, event, True,
                           seen_at=t)  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("--ticks", type=int, default=5)
    ap.add_argument("--changed", type=int, default=None, help="default: devices / 30")
    ap.add_argument(
        "--full",
        action="store_true",
        help="every village and parent every tick (as before quiet villages)",
    )
    args = ap.parse_args()
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
