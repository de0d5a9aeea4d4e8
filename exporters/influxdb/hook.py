"""Wiring for the runtime: start the exporter when settings.influxdb is set, stop it at stop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from netwatch.alerting.snapshot import AlertRecord, SnapshotSource
from netwatch.demo.hostnet import HostNetwork
from netwatch.exporters.influxdb.exporter import InfluxExporter, SpoolUnavailable

log = logging.getLogger(__name__)


def alerts(service: SnapshotSource | None) -> Callable[[], Iterable[AlertRecord]] | None:
    """The open alerts of the alert snapshot, when alerting runs."""
    if service is None:
        return None
    return lambda: service.snapshot().alerts


async def attach(runtime: Any, host_network: HostNetwork | None = None) -> InfluxExporter | None:
    """Start pushing runtime.state to InfluxDB if configured; registers its stop with the runtime.

    host_network: connect from the namespace captured there (the demo's sandbox). A spool that
    cannot be opened or written is a fault of `influxdb_spool` on the runtime's health
    (/readyz, netwatch_component_up) and is retried; monitoring never waits for it.
    """
    cfg = runtime.inventory.settings.influxdb
    if cfg is None:
        return None
    health = getattr(runtime, "health", None)

    def on_fault(reason: str | None) -> None:
        if health is None:
            return
        if reason is None:
            health.ok("influxdb_spool")
        else:
            health.fail("influxdb_spool", reason)

    factory = host_network.socket_factory if host_network is not None else None
    try:
        exporter = InfluxExporter(
            cfg,
            runtime.state,
            runtime.inventory,
            socket_factory=factory,
            alert_source=alerts(runtime.alerts),
            on_fault=on_fault,
        )
    except ValueError as exc:  # a setting no retry can fix: monitoring goes on without it
        log.error("InfluxDB export disabled: %s", exc)
        return None

    async def start() -> bool:
        try:
            await exporter.start()
        except SpoolUnavailable as exc:
            on_fault(str(exc))
            return False
        on_fault(None)
        runtime.on_stop(exporter.stop)
        return True

    try:
        started = await start()
    except ValueError as exc:  # an unreadable secret or CA file
        log.error("InfluxDB export disabled: %s", exc)
        return None
    if not started and hasattr(runtime, "retry"):
        runtime.retry(start, "influxdb_spool")
    return exporter
