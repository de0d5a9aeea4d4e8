"""/metrics at national scale: the exposition against client_python's generate_latest, same run.

A synthetic inventory (bench/synth_inventory.py's, 50,000 devices by default), one ping round
per device recorded through State.record (as the scheduler does), the alert engine evaluated
once; then the whole state part of /metrics (inventory and rollup, ICMP, alert families) is
rendered by netwatch's exposition and, as the peer, by client_python's generate_latest on
Metric objects built from the same samples (`StateCollector`). Cases:

- cold: a new exposition, every device sampled (the first scrape);
- steady: half the devices polled since the last scrape (ping every 30 s, scrape every 15 s);
- unchanged: no device polled since the last scrape;
- OpenMetrics (what Prometheus asks for), steady, and its gzip at the level /metrics uses.

CPU seconds of this process, best of --runs. Target (issue 10): < 1 µs per sample.

    .venv/bin/python bench/exposition_bench.py [--devices 50000] [--runs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import gzip
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics import exposition as om

from bench.synth_inventory import generate, limit, read_counts, to_inventory
from netwatch.alerting.service import AlertService
from netwatch.collectors.icmp import PLUGIN as ICMP
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.core.model import Inventory
from netwatch.core.state import State
from netwatch.exporters.prometheus import (
    Exposition,
    Format,
    StateCollector,
    gzip_body,
    inventory_families,
)
from netwatch.exporters.prometheus_alerts import source
from netwatch.web.metrics import GZIP_LEVEL


def ping_all(state: State, t: float, names: list[str]) -> None:
    for i, name in enumerate(names):
        # RTTs as the engine measures them (differences of perf_counter: 16-17 digits).
        # A new round has new RTTs (t moves them), as a real poll has.
        rtts = [0.000412345678 + (i % 997) * 1.0000001e-7 + k * 1.3e-5 + (t % 7) * 1.01e-6
                for k in range(5)]  # fmt: skip
        state.record(PingObservation(name, t + i * 1e-4, PingResult("a", 5, 5, rtts), 1.0))


ROUNDS = ("half", "together")
ROUNDS_HELP = (
    "half: half the devices polled between two scrapes (30 s pings, 15 s scrapes, phases "
    "spread); together: every device between every other two (the echo stream closes every "
    "device's round in the same slot, so `netwatch run` is scraped that way)"
)


def new_rounds(state: State, t: float, names: list[str], scrape: int, rounds: str) -> None:
    """The rounds recorded before the scrape-th scrape (from 0) of a 15 s scrape series."""
    if rounds == "half":
        ping_all(state, t, names[scrape % 2 :: 2])
    elif scrape % 2 == 0:
        ping_all(state, t, names)


def cpu(fn) -> tuple[float, object]:
    gc.collect()
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def split_gzip(e: Exposition) -> tuple[float, float, bytes]:
    """render_gzip's work apart: CPU of the render (pieces, kept slices) and of compression."""
    gc.collect()
    t0 = time.process_time()
    pieces = list(e.chunks(Format.OPENMETRICS, reuse=True))
    t1 = time.process_time()
    body = gzip_body(pieces, GZIP_LEVEL)
    return t1 - t0, time.process_time() - t1, body


@contextlib.contextmanager
def pinged_state(devices: int) -> Iterator[tuple[State, AlertService, list[str], float]]:
    """The synthetic inventory's state after one ping round per device and one alert
    evaluation (its alert database in a temporary folder): state, engine, names, time."""
    inv: Inventory = to_inventory(limit(generate(read_counts()), devices, 2))
    names = list(inv.devices)
    with tempfile.TemporaryDirectory() as tmp:
        alerting = dataclasses.replace(
            inv.settings.alerting, db_path=f"{tmp}/a.sqlite3", traceroute=False
        )
        inv = dataclasses.replace(
            inv, settings=dataclasses.replace(inv.settings, alerting=alerting)
        )
        state = State(inv)
        service = AlertService.create(inv, state, None, tracer=False)
        t = time.time()
        ping_all(state, t, names)
        service.engine.evaluate()
        try:
            yield state, service, names, t
        finally:
            service.engine.store.close()


def samples(body: bytes) -> int:
    return sum(1 for line in body.split(b"\n") if line and not line.startswith(b"#"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with pinged_state(args.devices) as (state, service, names, t):
        sources = [inventory_families, ICMP, source(service)]
        print(f"{len(names)} devices, {len(state.inventory.villages)} villages")

        best: dict[str, float] = {}
        bodies: dict[str, bytes] = {}

        def keep(name: str, seconds: float, body: bytes) -> None:
            best[name] = min(best.get(name, float("inf")), seconds)
            bodies[name] = body

        for run in range(args.runs):
            exposition = Exposition(state, sources)
            dt, body = cpu(lambda e=exposition: bytes(e.render()))
            keep("cold (every device sampled)", dt, body)
            half = names[run % 2 :: 2]
            ping_all(state, t + 30 * (run + 1), half)
            dt, body = cpu(lambda e=exposition: bytes(e.render()))
            keep("steady (half the devices polled)", dt, body)
            dt, body = cpu(lambda e=exposition: bytes(e.render()))
            keep("unchanged (no device polled)", dt, body)
            ping_all(state, t + 30 * (run + 1) + 15, half)
            dt, body = cpu(lambda e=exposition: bytes(e.render(fmt=Format.OPENMETRICS)))
            keep("OpenMetrics, steady", dt, body)
            dt, gz = cpu(lambda b=body: zlib.compress(b, GZIP_LEVEL, 31))
            keep(f"gzip level {GZIP_LEVEL} of the OpenMetrics body", dt, gz)
            # /metrics' gzip path: deflate segments, collector slices kept between scrapes.
            kept = Exposition(state, sources)
            dt, gz = cpu(lambda e=kept: e.render_gzip(Format.OPENMETRICS, GZIP_LEVEL))
            keep("OpenMetrics+gzip, kept slices: first scrape", dt, gz)
            ping_all(state, t + 30 * (run + 1) + 20, half)
            # As /metrics splits it: the render on the loop, compression in the gzip thread.
            loop_s, gzip_s, gz = split_gzip(kept)
            keep("OpenMetrics+gzip, kept slices: steady", loop_s + gzip_s, gz)
            keep("  of which the render (loop thread)", loop_s, b"")
            keep("  of which compression (gzip thread)", gzip_s, b"")
            dt, body = cpu(lambda e=exposition: bytes(e.render(fmt=Format.OPENMETRICS)))
            keep("OpenMetrics, steady, plain (same step)", dt, body)
            dt, gz6 = cpu(lambda b=body: zlib.compress(b, 6, 31))
            keep("gzip level 6 of the OpenMetrics body", dt, gz6)
            assert gzip.decompress(bodies["OpenMetrics+gzip, kept slices: steady"]) == body
            reg = CollectorRegistry(auto_describe=False)
            reg.register(StateCollector(state, sources))
            dt, body = cpu(lambda r=reg: generate_latest(r))
            keep("peer: client_python generate_latest", dt, body)
            dt, body = cpu(lambda r=reg: om.generate_latest(r))
            keep("peer: client_python OpenMetrics", dt, body)
    n = samples(bodies["steady (half the devices polled)"])
    peer = best["peer: client_python generate_latest"]
    text = bodies["unchanged (no device polled)"]
    print(
        f"{n:,} samples, text body {len(text) / 2**20:.1f} MiB, gzip "
        f"{len(bodies[f'gzip level {GZIP_LEVEL} of the OpenMetrics body']) / 2**20:.1f} MiB, "
        f"level 6 {len(bodies['gzip level 6 of the OpenMetrics body']) / 2**20:.1f} MiB, "
        f"segments {len(bodies['OpenMetrics+gzip, kept slices: steady']) / 2**20:.1f} MiB"
    )
    print(f"{'case':45s} {'CPU s':>8s} {'µs/sample':>10s} {'vs peer':>8s}")
    for name, seconds in best.items():
        print(f"{name:45s} {seconds:8.3f} {seconds / n * 1e6:10.3f} {seconds / peer:7.2f}x")
    steady = best["steady (half the devices polled)"] / n * 1e6
    print(f"target < 1 µs/sample (steady, text): {'met' if steady < 1 else 'MISSED'} "
          f"({steady:.2f} µs; client_python {peer / n * 1e6:.2f} µs, ratio "
          f"{best['steady (half the devices polled)'] / peer:.2f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
