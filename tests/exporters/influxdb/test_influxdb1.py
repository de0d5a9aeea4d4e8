"""v1 mode into a real InfluxDB 1.6 (strict line-protocol parser, InfluxQL read-back)."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

from netwatch.core.model import InfluxSettings
from netwatch.core.state import State
from netwatch.exporters.influxdb import metrics as m
from netwatch.exporters.influxdb.exporter import InfluxExporter
from tests.exporters.influxdb import sample
from tests.helpers.influxdb1 import InfluxDB1


async def test_v1_write_reads_back_through_influxql(influxdb1: InfluxDB1, tmp_path: Path) -> None:
    influxdb1.query("CREATE DATABASE netwatch")
    state = State(sample.inventory())
    cfg = InfluxSettings(
        url=influxdb1.url,
        bucket="netwatch/autogen",
        mode="v1",
        precision="ms",
        flush_interval=0.05,
        retry_initial=0.05,
        spool_dir=str(tmp_path / "spool"),
        snapshot_interval=3600.0,
    )
    rejected = m.REGISTRY.get_sample_value(
        "netwatch_influxdb_points_dropped_total", {"reason": "rejected"}
    )
    exporter = InfluxExporter(cfg, state)
    t0 = float(int(time.time()) - 60)
    await exporter.start()
    try:
        state.record(sample.ping("rtr,desa=1", t0, [0.001, 0.003], sent=4))
        state.record(sample.ping("ap 1", t0, [], sent=4))
        exporter.snapshot(now=t0 + 1)
        assert exporter.writer is not None
        assert await exporter.writer.flush(10.0)
    finally:
        await exporter.stop()
    # influxd rejects a malformed line with 400: nothing may have been dropped.
    assert (
        m.REGISTRY.get_sample_value(
            "netwatch_influxdb_points_dropped_total", {"reason": "rejected"}
        )
        == rejected
    )

    rows = influxdb1.rows('SELECT * FROM "netwatch_ping" GROUP BY *', "netwatch")
    by_device = {r["device"]: r for r in rows}
    assert set(by_device) == {"rtr,desa=1", "ap 1"}
    rtr = by_device["rtr,desa=1"]
    assert rtr["time"] == int(t0 * 1000)
    assert rtr["sent"] == 4 and rtr["received"] == 2 and rtr["loss_ratio"] == 0.5
    assert rtr["rtt_avg_seconds"] == 0.002
    assert rtr["district_name"] == sample.DISTRICT_NAME
    # InfluxDB 1.x keeps the escape of a backslash (docs/influxdb.md); the rest is exact.
    assert rtr["village_name"] == sample.VILLAGE_NAME.replace("\\", "\\\\")
    assert by_device["ap 1"]["loss_ratio"] == 1.0

    # Field types as InfluxDB itself recorded them: counts integer, ratios float.
    types = {
        row["fieldKey"]: row["fieldType"]
        for row in influxdb1.rows('SHOW FIELD KEYS FROM "netwatch_ping"', "netwatch")
    }
    assert types["sent"] == "integer" and types["received"] == "integer"
    assert types["up"] == "integer"
    assert types["loss_ratio"] == "float" and types["rtt_avg_seconds"] == "float"
    tag_keys = {
        row["tagKey"] for row in influxdb1.rows('SHOW TAG KEYS FROM "netwatch_ping"', "netwatch")
    }
    assert not tag_keys & set(types), "a tag and a field share a name"

    village = influxdb1.rows('SELECT * FROM "netwatch_village"', "netwatch")
    assert len(village) == 1
    assert village[0]["status"] == "down" and village[0]["status_code"] == 3


async def test_partial_write_drops_only_conflicting_points_without_resending(
    influxdb1: InfluxDB1, tmp_path: Path
) -> None:
    influxdb1.query("CREATE DATABASE netwatch")
    # Someone's older schema: netwatch_ping.sent as a float. Our integer field conflicts
    # (InfluxDB 1.x keeps field types per shard: same week as our points).
    t0 = float(int(time.time()) - 60)
    data = f"netwatch_ping,device=old sent=1.5 {int(t0) - 10}".encode()
    urllib.request.urlopen(
        urllib.request.Request(influxdb1.url + "/write?db=netwatch&precision=s", data=data),
        timeout=10,
    ).read()
    state = State(sample.inventory())
    cfg = InfluxSettings(
        url=influxdb1.url, bucket="netwatch", mode="v1", flush_interval=0.05,
        retry_initial=0.05, spool_dir=str(tmp_path / "spool"), snapshot_interval=3600.0,
    )  # fmt: skip

    def value(name: str, **labels: str) -> float:
        return m.REGISTRY.get_sample_value(name, labels) or 0.0

    before = (
        value("netwatch_influxdb_points_dropped_total", reason="rejected"),
        value("netwatch_influxdb_write_errors_total", reason="rejected"),
        value("netwatch_influxdb_points_written_total"),
    )
    exporter = InfluxExporter(cfg, state)
    await exporter.start()
    try:
        state.record(sample.ping("rtr,desa=1", t0, [0.001], sent=4))
        state.record(sample.ping("ap 1", t0, [0.002], sent=4))
        exporter.snapshot(now=t0 + 1)
        assert exporter.writer is not None
        assert await exporter.writer.flush(10.0)
    finally:
        await exporter.stop()
    after = (
        value("netwatch_influxdb_points_dropped_total", reason="rejected"),
        value("netwatch_influxdb_write_errors_total", reason="rejected"),
        value("netwatch_influxdb_points_written_total"),
    )
    assert after[0] - before[0] == 2  # the two ping points
    assert after[1] - before[1] == 1  # one 400 answer: no bisecting resends
    assert after[2] - before[2] == 1  # the village snapshot
    assert len(influxdb1.rows('SELECT * FROM "netwatch_village"', "netwatch")) == 1
    assert len(influxdb1.rows('SELECT * FROM "netwatch_ping"', "netwatch")) == 1  # the old one
