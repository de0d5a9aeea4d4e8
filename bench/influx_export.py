"""Points/s and CPU per 10,000 points through the InfluxDB exporter into VictoriaMetrics.

Run from the repo root: .venv/bin/python bench/influx_export.py [--points 300000]
Peer, same run, same server: influxdb-client's own way (Point objects, WriteApiAsync, batches
of the same size). Only this process's CPU is counted (VictoriaMetrics runs apart).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from influxdb_client import Point
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync

from netwatch.core.model import InfluxSettings
from netwatch.core.state import State
from netwatch.exporters.influxdb.exporter import InfluxExporter
from netwatch.exporters.influxdb.points import device_tags
from tests.exporters.influxdb import sample
from tests.helpers.procs import free_port
from tests.helpers.victoriametrics import VictoriaMetrics

BATCH = 5000


def observations(state: State, n: int, t0: float) -> list:
    names = list(state.devices)
    out = []
    for i in range(n):
        name = names[i % len(names)]
        rtts = [0.001 + (i % 13) * 1e-4, 0.002, 0.0015]
        out.append((state.devices[name], sample.ping(name, t0 + i / 1000, rtts)))
    return out


async def ours(url: str, spool: Path, obs: list, state: State) -> tuple[float, float]:
    cfg = InfluxSettings(
        url=url, bucket="b", batch_size=BATCH, spool_dir=str(spool), snapshot_interval=3600.0
    )
    exporter = InfluxExporter(cfg, state)
    await exporter.start()  # its listener on state, as in service
    record = state.record
    assert exporter.writer is not None
    cpu, wall = time.process_time(), time.perf_counter()
    for k in range(0, len(obs), 1000):  # as the scheduler hands rounds over: in bursts
        for _ds, o in obs[k : k + 1000]:
            record(o)
        await asyncio.sleep(0)
    assert await exporter.writer.flush(120.0)
    result = time.process_time() - cpu, time.perf_counter() - wall
    await exporter.stop()
    return result


async def replay(url: str, spool: Path, obs: list, state: State) -> tuple[float, float]:
    """Spool everything while the server is unreachable, then time the replay alone."""
    dead = InfluxSettings(
        url=f"http://127.0.0.1:{free_port()}",  # nobody listens: an outage
        bucket="b",
        batch_size=BATCH,
        retry_initial=60.0,
        spool_dir=str(spool),
        snapshot_interval=3600.0,
    )
    exporter = InfluxExporter(dead, state)
    await exporter.start()
    for _ds, o in obs:
        state.record(o)
    assert exporter.writer is not None
    exporter.writer.flush_pending()
    await exporter.stop(0.1)
    back = InfluxExporter(dataclasses.replace(dead, url=url, retry_initial=1.0), state)
    cpu, wall = time.process_time(), time.perf_counter()
    await back.start()
    assert back.writer is not None and await back.writer.flush(300.0)
    result = time.process_time() - cpu, time.perf_counter() - wall
    await back.stop()
    return result


async def peer(url: str, obs: list, state: State) -> tuple[float, float]:
    inv = state.inventory
    cpu, wall = time.process_time(), time.perf_counter()
    async with InfluxDBClientAsync(url=url, token="", org="o") as client:
        api = client.write_api()
        batch: list[Point] = []
        for ds, o in obs:
            r = o.result
            p = Point("netwatch_ping")
            for k, v in device_tags(inv, ds.device).items():
                if v:
                    p.tag(k, v)
            p.field("sent", r.sent).field("received", r.received).field("up", 1)
            p.field("loss_ratio", r.loss_ratio).field("duration_seconds", o.duration)
            p.field("rtt_min_seconds", r.rtt_min).field("rtt_avg_seconds", r.rtt_avg)
            p.field("rtt_max_seconds", r.rtt_max).field("jitter_seconds", r.jitter)
            batch.append(p.time(round(o.time * 1000), "ms"))
            if len(batch) == BATCH:
                await api.write("b", "o", batch, write_precision="ms")
                batch = []
        if batch:
            await api.write("b", "o", batch, write_precision="ms")
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=300_000)
    args = ap.parse_args()
    n = args.points
    with tempfile.TemporaryDirectory() as d:
        vm = VictoriaMetrics(Path(d) / "vm")
        vm.start()
        try:
            # No backslash in names: influxdb-client would split such lines (see test_lineproto.py).
            state = State(sample.inventory(village_name='Kampung "Baru", Timur=1'))
            obs = observations(state, n, float(int(time.time()) - 3600))
            ours_cpu, ours_wall = asyncio.run(ours(vm.url, Path(d) / "spool", obs, state))
            obs2 = observations(state, n, float(int(time.time()) - 7200))
            peer_cpu, peer_wall = asyncio.run(peer(vm.url, obs2, state))
            obs3 = observations(state, n, float(int(time.time()) - 10800))
            rep_cpu, rep_wall = asyncio.run(replay(vm.url, Path(d) / "spool2", obs3, state))
            stored = len(vm.samples('{__name__="netwatch_ping_sent"}'))
        finally:
            vm.stop()
    print(f"points: {n} per run; VictoriaMetrics stored {stored} netwatch_ping_sent samples")
    assert stored == 3 * n, "points lost or duplicated"
    for name, cpu, wall in (
        ("netwatch", ours_cpu, ours_wall),
        ("influxdb-client", peer_cpu, peer_wall),
    ):
        print(
            f"{name:16s} {n / cpu:10,.0f} points/CPU-s  {n / wall:10,.0f} points/s wall  "
            f"{cpu / n * 10_000 * 1000:7.1f} CPU-ms per 10,000 points"
        )
    print(
        f"replay after an outage: {n / rep_wall:,.0f} points/s wall, "
        f"{rep_cpu / n * 10_000 * 1000:.1f} CPU-ms per 10,000 points"
    )
    print(f"ratio: netwatch uses {ours_cpu / peer_cpu:.2f}x the CPU of influxdb-client Points")


if __name__ == "__main__":
    main()
