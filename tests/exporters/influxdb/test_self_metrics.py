"""The exporter's self-metrics, linted by promtool, live in netwatch's health registry."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from prometheus_client import generate_latest

from netwatch.core import telemetry
from netwatch.exporters.influxdb import metrics as m

NAMES = (
    "netwatch_influxdb_points_written_total",
    "netwatch_influxdb_points_queued",
    "netwatch_influxdb_spool_bytes",
    "netwatch_influxdb_points_dropped_total",
    "netwatch_influxdb_write_errors_total",
    "netwatch_influxdb_last_success_timestamp_seconds",
)


def test_self_metrics_pass_promtool() -> None:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is not installed (Debian package prometheus)")
    assert m.REGISTRY is telemetry.REGISTRY
    text = generate_latest(telemetry.REGISTRY).decode()
    types = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}
    for name in NAMES:
        assert name in types or name.removesuffix("_total") in types, name
    ours = "\n".join(line for line in text.splitlines() if "netwatch_influxdb_" in line) + "\n"
    out = subprocess.run(
        ["promtool", "check", "metrics"], input=ours, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stdout + out.stderr
