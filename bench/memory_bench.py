"""Where `netwatch run`'s memory goes at scale, part by part (issue 10: RSS < 500 MiB at 50,000).

Builds in one process what `netwatch run` builds (the inventory from the loader's child, state,
the ICMP/SNMP/service collectors, the scheduler's jobs, the alert engine, the /metrics
exposition), feeds one ping round per device through State.record as the scheduler would,
renders /metrics, and prints after each step the RSS growth and, with --trace, the top
allocation sites (tracemalloc; slows every step several times). The scheduler's jobs are not
started, but starting the ICMP collector starts its echo stream: echoes go to the inventory's
addresses, which bench/synth_inventory.py puts on 127.0.0.0/8 (loopback only).

    .venv/bin/python bench/synth_inventory.py /tmp/inv50k.yaml --max-devices 50000
    .venv/bin/python bench/memory_bench.py /tmp/inv50k.yaml [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import pickle
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netwatch.alerting.service import AlertService
from netwatch.cluster.member import Member
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.config.isolated import load
from netwatch.core.plugins import Context
from netwatch.core.runtime import collector_plugins
from netwatch.core.scheduler import Scheduler
from netwatch.core.state import State
from netwatch.exporters.prometheus import Exposition, Format
from netwatch.exporters.prometheus_alerts import source
from netwatch.web.metrics import MetricsEndpoint


def rss() -> tuple[float, float]:
    """(VmRSS, VmHWM) in MiB."""
    vals = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS", "VmHWM")):
            key, value = line.split(":", 1)
            vals[key] = int(value.split()[0]) / 1024
    return vals["VmRSS"], vals["VmHWM"]


class Steps:
    def __init__(self, trace: bool, top: int) -> None:
        self.trace, self.top = trace, top
        self.last_rss = rss()[0]
        self.snap = tracemalloc.take_snapshot() if trace else None
        self.table: list[tuple[str, float, float]] = []

    def done(self, name: str, per: int) -> None:
        gc.collect()
        now, hwm = rss()
        grew = now - self.last_rss
        self.table.append((name, grew, hwm))
        print(f"{name:40s} +{grew:7.1f} MiB  ({grew * 2**20 / per:7.0f} B/device)  "
              f"RSS {now:6.1f}  high-water {hwm:6.1f}")  # fmt: skip
        self.last_rss = now
        if self.snap is not None:
            snap = tracemalloc.take_snapshot()
            for stat in snap.compare_to(self.snap, "lineno")[: self.top]:
                if stat.size_diff > 256 << 10:
                    frame = stat.traceback[0]
                    where = f"{Path(frame.filename).name}:{frame.lineno}"
                    print(f"    {stat.size_diff / 2**20:7.1f} MiB {stat.count_diff:9d} {where}")
            self.snap = snap


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", type=Path)
    ap.add_argument("--trace", action="store_true", help="tracemalloc top sites per step")
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="ping rounds fed per device (the alert tracker keeps settings.alerting."
        "degraded_rounds of them, 10 by default: 5 minutes of a 30 s interval)",
    )
    args = ap.parse_args()
    if args.trace:
        tracemalloc.start()
    steps = Steps(args.trace, args.top)
    t0 = time.perf_counter()
    inventory = load(args.config, Member())
    n = len(inventory.devices)
    size = len(pickle.dumps(inventory, protocol=pickle.HIGHEST_PROTOCOL))
    print(f"{n} devices, {len(inventory.villages)} villages; pickle {size / 2**20:.1f} MiB, "
          f"load {time.perf_counter() - t0:.1f} s")  # fmt: skip
    steps.done("inventory (unpickled)", n)
    state = State(inventory)
    steps.done("State", n)
    plugins = collector_plugins()
    ctx = Context(lambda: inventory)
    collectors = [await p.start(ctx) for p in plugins]
    scheduler = Scheduler(collectors, state.record, max_concurrency=2000)
    scheduler.sync(inventory)  # jobs added, not started: no packet leaves
    steps.done(f"scheduler ({scheduler.job_count} jobs)", n)
    with tempfile.TemporaryDirectory() as tmp:
        import dataclasses

        alerting = dataclasses.replace(
            inventory.settings.alerting, db_path=f"{tmp}/alerts.sqlite3", traceroute=False
        )
        settings = dataclasses.replace(inventory.settings, alerting=alerting)
        inv2 = dataclasses.replace(inventory, settings=settings)
        service = AlertService.create(inv2, state, None, tracer=False)
        steps.done("alert engine", n)
        exposition = Exposition(state, [*exposition_sources(), *plugins, source(service)])
        t = time.time()
        for r in range(args.rounds):
            for i, name in enumerate(inventory.devices):
                addr = inventory.devices[name].address
                rtts = [0.0004 + (i % 97 + r) * 1e-6 + k * 1e-5 for k in range(5)]
                at = t + r * 30 + i * 1e-4
                state.record(PingObservation(name, at, PingResult(addr, 5, 5, rtts), 1.0))
            if r == 0 or r == args.rounds - 1:
                steps.done(f"ping round {r + 1} per device (+ alert intake)", n)
        service.engine.evaluate()
        steps.done("one alert evaluation", n)
        endpoint = MetricsEndpoint(exposition)
        for _ in range(2):  # as Prometheus scrapes: OpenMetrics, gzip
            cpu = time.process_time()
            if args.trace:
                tracemalloc.reset_peak()
                held = tracemalloc.get_traced_memory()[0]
            body = await endpoint.body(Format.OPENMETRICS, True, "application/openmetrics-text")
            cpu = time.process_time() - cpu
            print(f"    /metrics: {len(body) / 2**20:.1f} MiB gzip, {cpu:.2f} s CPU (loop thread)")
            if args.trace:  # the render's transient: what RSS must hold on top for a moment
                peak = tracemalloc.get_traced_memory()[1]
                print(f"    /metrics: traced peak {(peak - held) / 2**20:.1f} MiB above before")
            del body
        steps.done("/metrics, twice (columns kept, body freed)", n)
        service.engine.store.close()
        if args.trace:  # what is held at the end, by source file (the owners of the MiB)
            print("traced, by file (top 25):")
            by_file = tracemalloc.take_snapshot().statistics("filename")
            for stat in by_file[:25]:
                name = stat.traceback[0].filename.split("/site-packages/")[-1]
                tree = str(Path(__file__).resolve().parents[1]) + "/"
                print(f"    {stat.size / 2**20:7.1f} MiB {stat.count:9d} {name.replace(tree, '')}")
    for c in collectors:
        await c.close()
    print(f"total RSS {rss()[0]:.1f} MiB, high-water {rss()[1]:.1f} MiB")
    return 0


def exposition_sources() -> list:
    from netwatch.exporters import prometheus

    return [prometheus.inventory_families]


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
