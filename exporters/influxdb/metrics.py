"""The InfluxDB exporter's self-metrics, in netwatch's own health registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

try:
    from netwatch.core.telemetry import REGISTRY
except ImportError:  # before netwatch.core.telemetry exists in this checkout
    REGISTRY = CollectorRegistry()

WRITE_ERROR_REASONS = (
    "network",
    "timeout",
    "server",
    "throttled",
    "rejected",
    "too_large",
    "auth",
    "not_found",
    "http",
)
DROP_REASONS = ("spool_full", "rejected", "spool_error")

POINTS_WRITTEN = Counter(
    "netwatch_influxdb_points_written_total",
    "Points the InfluxDB server acknowledged.",
    registry=REGISTRY,
)
POINTS_DROPPED = Counter(
    "netwatch_influxdb_points_dropped_total",
    "Points given up: evicted from a full spool, rejected by the server as bad data, "
    "or beyond the memory hold while the spool could not be written.",
    ["reason"],
    registry=REGISTRY,
)
WRITE_ERRORS = Counter(
    "netwatch_influxdb_write_errors_total",
    "Failed write requests, by reason.",
    ["reason"],
    registry=REGISTRY,
)
POINTS_QUEUED = Gauge(
    "netwatch_influxdb_points_queued",
    "Points waiting for the server's acknowledgement (in the spool or in flight).",
    registry=REGISTRY,
)
SPOOL_BYTES = Gauge(
    "netwatch_influxdb_spool_bytes",
    "Bytes of the on-disk spool.",
    registry=REGISTRY,
)
LAST_SUCCESS = Gauge(
    "netwatch_influxdb_last_success_timestamp_seconds",
    "Unix time of the last acknowledged write.",
    registry=REGISTRY,
)

for _reason in WRITE_ERROR_REASONS:
    WRITE_ERRORS.labels(_reason)
for _reason in DROP_REASONS:
    POINTS_DROPPED.labels(_reason)
