"""Wiring for the runtime: start the exporter when settings.influxdb is set, stop it at stop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from netwatch.alerting.snapshot import AlertRecord, SnapshotSource
from netwatch.demo.hostnet import HostNetwork
from netwatch.exporters.influxdb.exporter import InfluxExporter

log = logging.getLogger(__name__)


def alerts(service: SnapshotSource | None) -> Callable[[], Iterable[AlertRecord]] | None:
    """The open alerts of the alert snapshot, when alerting runs."""
    if service is None:
        return None
    return lambda: service.snapshot().alerts


async def attach(runtime: Any, host_network: HostNetwork | None = None) -> InfluxExporter | None:
    """Start pushing runtime.state to InfluxDB if configured; registers its stop with the runtime.

    host_network: connect from the namespace captured there (the demo's sandbox).
    """
    cfg = runtime.inventory.settings.influxdb
    if cfg is None:
        return None
    factory = host_network.socket_factory if host_network is not None else None
    try:
        exporter = InfluxExporter(
            cfg,
            runtime.state,
            runtime.inventory,
            socket_factory=factory,
            alert_source=alerts(runtime.alerts),
        )
        await exporter.start()
    except ValueError as exc:  # monitoring goes on without the export
        log.error("InfluxDB export disabled: %s", exc)
        return None
    runtime.on_stop(exporter.stop)
    return exporter
