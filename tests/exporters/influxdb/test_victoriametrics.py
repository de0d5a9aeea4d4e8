"""End to end into a real VictoriaMetrics: tags and values, and an outage that loses nothing."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from netwatch.core.model import InfluxSettings
from netwatch.core.state import State
from netwatch.exporters.influxdb import metrics as m
from netwatch.exporters.influxdb.exporter import InfluxExporter
from tests.exporters.influxdb import sample
from tests.helpers.victoriametrics import VictoriaMetrics


def settings(url: str, spool: Path, **kw: object) -> InfluxSettings:
    base: dict[str, object] = {
        "url": url,
        "bucket": "netwatch",
        "org": "banyuwangi",
        "flush_interval": 0.05,
        "retry_initial": 0.05,
        "retry_max": 0.3,
        "spool_dir": str(spool),
        "snapshot_interval": 3600.0,
    }
    base.update(kw)
    return InfluxSettings(**base)  # type: ignore[arg-type]


def by_name(samples: list[tuple[dict, int, float]], name: str) -> list[tuple[dict, int, float]]:
    return [s for s in samples if s[0]["__name__"] == name]


async def test_ping_and_village_points_arrive_with_tags_and_values(
    victoriametrics: VictoriaMetrics, tmp_path: Path
) -> None:
    state = State(sample.inventory())
    exporter = InfluxExporter(settings(victoriametrics.url, tmp_path / "spool"), state)
    t0 = float(int(time.time()) - 120)
    await exporter.start()
    try:
        state.record(sample.ping("rtr,desa=1", t0, [0.001, 0.003], sent=5))
        state.record(sample.ping("ap 1", t0 + 0.5, [], sent=5))
        state.record(sample.ping("pop 1", t0 + 0.25, [0.002, 0.004, 0.009], sent=3))
        exporter.snapshot(now=t0 + 1)
        assert exporter.writer is not None
        assert await exporter.writer.flush(10.0)
    finally:
        await exporter.stop()
    samples = victoriametrics.samples()

    loss = {s[0]["device"]: (s[1], s[2]) for s in by_name(samples, "netwatch_ping_loss_ratio")}
    # Expected values are arithmetic on the inputs above: loss = 1 - received/sent.
    assert loss == {
        "rtr,desa=1": (int(t0 * 1000), 0.6),
        "ap 1": (int(t0 * 1000) + 500, 1.0),
        "pop 1": (int(t0 * 1000) + 250, 0.0),
    }
    rtr = next(s[0] for s in samples if s[0].get("device") == "rtr,desa=1")
    assert rtr == {
        "__name__": rtr["__name__"],
        "device": "rtr,desa=1",
        "role": "router",
        "district": "35.10.07",
        "district_name": sample.DISTRICT_NAME,
        "village": "35.10.07.2001",
        "village_name": sample.VILLAGE_NAME,
    }
    pop = next(s[0] for s in samples if s[0].get("device") == "pop 1")
    assert "village" not in pop and pop["district_name"] == sample.DISTRICT_NAME

    avg = {s[0]["device"]: s[2] for s in by_name(samples, "netwatch_ping_rtt_avg_seconds")}
    assert avg["rtr,desa=1"] == 0.002 and abs(avg["pop 1"] - 0.005) < 1e-12
    assert "ap 1" not in avg  # no reply: no RTT field at all
    jitter = {s[0]["device"]: s[2] for s in by_name(samples, "netwatch_ping_jitter_seconds")}
    assert abs(jitter["pop 1"] - 0.0035) < 1e-12  # mean(|4-2|, |9-4|) ms
    up = {s[0]["device"]: s[2] for s in by_name(samples, "netwatch_ping_up")}
    assert up == {"rtr,desa=1": 1, "ap 1": 0, "pop 1": 1}

    village = by_name(samples, "netwatch_village_status_code")
    assert len(village) == 1
    labels, ts, code = village[0]
    assert labels["village_name"] == sample.VILLAGE_NAME and ts == int(t0 * 1000) + 1000
    assert code == 3  # router up, its only AP down: "down" (docs/influxdb.md codes)
    assert by_name(samples, "netwatch_village_devices_up")[0][2] == 1


async def produce(state: State, names: list[str], t0: float, start: int, n: int) -> int:
    """n ping rounds per device, unique ms timestamps, paced so the exporter keeps sending."""
    for i in range(start, start + n):
        for name in names:
            state.record(sample.ping(name, t0 + i / 1000, [0.001 * (i % 7 + 1)]))
        if i % 10 == 0:
            await asyncio.sleep(0.005)
    return start + n


async def test_outage_loses_nothing_and_duplicates_nothing(
    victoriametrics: VictoriaMetrics, tmp_path: Path
) -> None:
    # VictoriaMetrics here runs without -dedup.minScrapeInterval, so a point sent twice
    # would be stored twice: this checks exactly-once across an outage without a crash.
    state = State(sample.inventory())
    cfg = settings(victoriametrics.url, tmp_path / "spool", batch_size=200)
    exporter = InfluxExporter(cfg, state)
    names = list(state.devices)
    t0 = float(int(time.time()) - 600)
    errors = m.REGISTRY.get_sample_value(
        "netwatch_influxdb_write_errors_total", {"reason": "network"}
    )
    await exporter.start()
    try:
        assert exporter.writer is not None
        i = await produce(state, names, t0, 0, 300)
        victoriametrics.stop()  # outage starts while points keep coming
        i = await produce(state, names, t0, i, 600)
        await asyncio.sleep(0.5)
        spooled = m.REGISTRY.get_sample_value("netwatch_influxdb_points_queued")
        assert spooled is not None and spooled > 0
        assert exporter.writer.spool.bytes > 0
        spool_gauge = m.REGISTRY.get_sample_value("netwatch_influxdb_spool_bytes")
        assert spool_gauge is not None and spool_gauge > 0
        victoriametrics.start()
        i = await produce(state, names, t0, i, 300)
        assert await exporter.writer.flush(20.0)
    finally:
        await exporter.stop()
    after = m.REGISTRY.get_sample_value(
        "netwatch_influxdb_write_errors_total", {"reason": "network"}
    )
    assert after is not None and errors is not None and after > errors

    sent = by_name(victoriametrics.samples('{__name__="netwatch_ping_sent"}'), "netwatch_ping_sent")
    seen = Counter((s[0]["device"], s[1]) for s in sent)
    expected = {(name, int(t0 * 1000) + k) for name in names for k in range(i)}
    assert set(seen) == expected
    assert max(seen.values()) == 1, "a point was stored twice"
