"""What a device-round costs after the echo stream (issue 10): state, alert intake, tick.

`netwatch run` at N devices records N/30 echo-stream rounds a second (ping every 30 s), N/300
SNMP polls a second (bench/run_bench.py's inventory: every fifth device polled every 60 s),
and the alert engine evaluates once a second. This feeds the same through `State.record` with
the alert service's listener wired as `netwatch run` wires it (AlertService.create), in
simulated seconds, on bench/run_bench.py's inventory (write_config, with its SNMP fifth), and
prints the CPU (time.process_time) of each stream per device-round:

- rounds: a steady healthy round of every device (5 echoes, 5 replies, RTTs that vary)
- polls: an answered SNMP poll (two interfaces up, no Wi-Fi clients, as run_bench's snmpd)
- ticks: Engine.evaluate() once per simulated second

and the same records with no listener (the collectors' own `record`, not this part's), so
the difference is what state's listeners (the alert engine) add. Steady state after a warm-up
(every device up, a full sustained window).

    .venv/bin/python bench/alert_round_bench.py [--devices 50000] [--seconds 60] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run_bench import COMMUNITY_ENV, SNMP_PORT, write_config

from netwatch.alerting.service import AlertService
from netwatch.cluster.member import Member
from netwatch.collectors.icmp.observation import ROUND, UP, PingObservation, PingResult
from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation
from netwatch.config.isolated import load
from netwatch.core.model import Inventory
from netwatch.core.state import State

INTERVAL = 30  # s: ping interval of run_bench's inventory
SNMP_INTERVAL = 60  # s


def ping(name: str, address: str, t: float, k: int, event: str = ROUND) -> PingObservation:
    """A healthy round: 5 echoes, 5 replies, RTTs of 0.2-1.1 ms that differ round to round."""
    rtts = [0.0002 + ((k * 7 + j * 13) % 10) * 0.0001 for j in range(5)]
    return PingObservation(name, t - INTERVAL, PingResult(address, 5, 5, rtts), float(INTERVAL),
                           event, True, seen_at=t - 0.5)  # fmt: skip


def poll(name: str, t: float, k: int) -> SnmpObservation:
    """An answered poll: lo and eth0 up, counters that grow."""
    ifaces = [
        SnmpInterface(1, "lo", if_type=24, admin_status=1, oper_status=1,
                      in_octets=1000 * k, out_octets=1000 * k),
        SnmpInterface(2, "eth0", if_type=6, admin_status=1, oper_status=1,
                      in_octets=5000 * k, out_octets=3000 * k),
    ]  # fmt: skip
    return SnmpObservation(name, t, duration=0.01, uptime_ticks=100 * int(t), interfaces=ifaces)


def build(devices: int, tmp: str) -> tuple[Inventory, State, AlertService]:
    cfg = Path(tmp) / "bench.yaml"
    write_config(cfg, devices, INTERVAL, SNMP_PORT, traceroute=False)
    os.environ.setdefault(COMMUNITY_ENV, "public")
    inventory = load(cfg, Member())
    alerting = dataclasses.replace(inventory.settings.alerting, db_path=f"{tmp}/alerts.sqlite3")
    inventory = dataclasses.replace(
        inventory, settings=dataclasses.replace(inventory.settings, alerting=alerting)
    )
    state = State(inventory)
    service = AlertService.create(inventory, state, None, tracer=False)
    return inventory, state, service


def simulate(
    inventory: Inventory,
    state: State,
    tick: Callable[[float], None] | None,
    seconds: int,
    t: float,
    k0: int,
) -> tuple[float, float, float, int]:
    """`seconds` simulated seconds: CPU of the rounds, the polls and the ticks; rounds."""
    names = list(inventory.devices)
    snmp = [n for n in names if inventory.devices[n].snmp is not None]
    per_s = max(1, len(names) // INTERVAL)
    polls_s = max(1, len(snmp) // SNMP_INTERVAL)
    rounds_cpu = polls_cpu = ticks_cpu = 0.0
    count = 0
    record = state.record
    for s in range(seconds):
        now = t + s
        k = k0 + s
        a = (k * per_s) % len(names)
        batch = [ping(n, inventory.devices[n].address, now, k)
                 for n in (names[a:] + names[:a])[:per_s]]  # fmt: skip
        b = (k * polls_s) % len(snmp)
        polled = [poll(n, now, k) for n in (snmp[b:] + snmp[:b])[:polls_s]]
        c = time.process_time()
        for obs in batch:
            record(obs)
        rounds_cpu += time.process_time() - c
        count += len(batch)
        c = time.process_time()
        for p in polled:
            record(p)
        polls_cpu += time.process_time() - c
        if tick is not None:
            c = time.process_time()
            tick(now)
            ticks_cpu += time.process_time() - c
    return rounds_cpu, polls_cpu, ticks_cpu, count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=50_000)
    ap.add_argument("--seconds", type=int, default=60, help="simulated seconds a repeat")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        inventory, state, service = build(args.devices, tmp)
        engine = service.engine
        names = list(inventory.devices)
        t = time.time()
        for n in names:
            state.record(ping(n, inventory.devices[n].address, t, 0, UP))
        for n in names:
            if inventory.devices[n].snmp is not None:
                state.record(poll(n, t, 0))
        engine.evaluate(t)
        # Warm-up: a full sustained window of every device (degraded_rounds rounds).
        warm = INTERVAL * (engine.settings.degraded_rounds + 1)
        simulate(inventory, state, engine.evaluate, warm, t + 1, 1)
        t += warm + 1
        k = warm + 1
        gc.collect()
        gc.freeze()  # as netwatch run's heap settle: no full pass over the start-up heap
        listeners = list(state._listeners)
        rows: list[tuple[float, float, float, float, float]] = []
        for _ in range(args.repeat):
            r, p, e, n = simulate(inventory, state, engine.evaluate, args.seconds, t, k)
            t += args.seconds
            k += args.seconds
            state._listeners = []
            r0, p0, _, n0 = simulate(inventory, state, None, args.seconds, t, k)
            state._listeners = listeners
            t += args.seconds
            k += args.seconds
            rows.append((r / n, p / n, e / n, r0 / n0, p0 / n0))
        snap = engine.snapshot()
        up = sum(1 for s in snap.shown.values() if s == "up")
        engine.store.close()
    print(
        f"{len(names)} devices, {len(inventory.villages)} villages ({up} shown up), "
        f"{len(snap.alerts)} alerts open; {args.repeat} x {args.seconds} simulated s"
    )
    med = [statistics.median(col) * 1e6 for col in zip(*rows, strict=True)]
    print("µs of CPU per device-round (median of repeats):")
    print(f"  rounds through state + listeners:   {med[0]:6.2f}  (bare record {med[3]:.2f})")
    print(f"  SNMP polls through state + listeners: {med[1]:6.2f}  (bare record {med[4]:.2f})")
    print(f"  engine ticks (1 a second):          {med[2]:6.2f}")
    part = med[0] - med[3] + med[1] - med[4] + med[2]
    print(f"  this part (listeners + ticks):      {part:6.2f}")
    print(f"  all of the above:                   {med[0] + med[1] + med[2]:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
