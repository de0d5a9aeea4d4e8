"""Firing alerts become netwatch_alert points at each snapshot; resolved ones do not."""

from __future__ import annotations

from pathlib import Path

from netwatch.alerting.types import Alert
from netwatch.core.model import InfluxSettings
from netwatch.core.state import State
from netwatch.exporters.influxdb.exporter import InfluxExporter
from tests.exporters.influxdb import sample
from tests.helpers.lineproto import parse


class Capture:
    """A transport that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def send(self, body: bytes) -> None:
        self.bodies.append(body)

    async def close(self) -> None:
        pass


async def test_snapshot_writes_firing_alerts(tmp_path: Path) -> None:
    labels = {
        "alertname": "VillageWifiDown",
        "severity": "critical",
        "village": "35.10.07.2001",
        "village_name": sample.VILLAGE_NAME,
        "district": "35.10.07",
        "district_name": sample.DISTRICT_NAME,
    }
    firing = Alert(labels=labels, starts_at=1000.0, acknowledged_by="budi")
    resolved = Alert(labels={**labels, "alertname": "Other"}, starts_at=900.0, ends_at=950.0)
    capture = Capture()
    cfg = InfluxSettings(
        url="http://127.0.0.1:9", bucket="b", spool_dir=str(tmp_path), snapshot_interval=3600.0
    )
    exporter = InfluxExporter(
        cfg, State(sample.inventory()), transport=capture, alert_source=lambda: [firing, resolved]
    )
    await exporter.start()
    try:
        exporter.snapshot(now=1090.0)
        assert exporter.writer is not None and await exporter.writer.flush(5.0)
    finally:
        await exporter.stop()
    lines = parse(b"\n".join(capture.bodies).decode())
    alerts = [x for x in lines if x.measurement == "netwatch_alert"]
    assert len(alerts) == 1
    assert alerts[0].tags == labels
    assert alerts[0].fields == {"firing": 1, "active_seconds": 90.0, "acknowledged": 1}
    assert alerts[0].timestamp == 1_090_000
    assert [x.measurement for x in lines].count("netwatch_village") == 1
