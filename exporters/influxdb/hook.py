"""Wiring for the runtime: start the exporter when settings.influxdb is set, stop it at stop."""

from __future__ import annotations

from typing import Any

from netwatch.exporters.influxdb.exporter import InfluxExporter
from netwatch.exporters.influxdb.hostnet import HostNetwork


async def attach(runtime: Any, host_network: HostNetwork | None = None) -> InfluxExporter | None:
    """Start pushing runtime.state to InfluxDB if configured; registers its stop with the runtime.

    host_network: connect from the namespace captured there (the demo's sandbox).
    """
    cfg = runtime.inventory.settings.influxdb
    if cfg is None:
        return None
    factory = host_network.socket_factory if host_network is not None else None
    exporter = InfluxExporter(cfg, runtime.state, runtime.inventory, socket_factory=factory)
    await exporter.start()
    runtime.on_stop(exporter.stop)
    return exporter
