"""Wiring for the runtime: start the exporter when settings.influxdb is set, stop it at stop."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from netwatch.demo.hostnet import HostNetwork
from netwatch.exporters.influxdb.exporter import InfluxExporter

log = logging.getLogger(__name__)


def alerts(runtime: Any) -> Callable[[], Iterable[object]] | None:
    """The firing alerts of the runtime's alert engine (its `open` dict), if it has one."""
    for name in ("alert_engine", "alerts", "engine"):
        engine = getattr(runtime, name, None)
        if engine is not None and isinstance(getattr(engine, "open", None), dict):
            return lambda: list(engine.open.values())
    return None


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
            alert_source=alerts(runtime),
        )
        await exporter.start()
    except ValueError as exc:  # monitoring goes on without the export
        log.error("InfluxDB export disabled: %s", exc)
        return None
    runtime.on_stop(exporter.stop)
    return exporter
