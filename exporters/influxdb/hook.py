"""Wiring for the runtime: start the exporter when settings.influxdb is set, stop it at stop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from netwatch.core.model import Inventory
from netwatch.core.state import State
from netwatch.demo.hostnet import HostNetwork
from netwatch.exporters.influxdb.exporter import InfluxExporter
from netwatch.exporters.influxdb.points import AlertPoint

log = logging.getLogger(__name__)

AlertSource = Callable[[], Iterable[AlertPoint]]


class Host(Protocol):
    """What the exporter needs of the running service (netwatch.core.runtime.Runtime)."""

    @property
    def inventory(self) -> Inventory: ...

    @property
    def state(self) -> State: ...

    def on_stop(self, coro_fn: Callable[[], Awaitable[None]]) -> None: ...


async def attach(
    host: Host,
    host_network: HostNetwork | None = None,
    alert_source: AlertSource | None = None,
) -> InfluxExporter | None:
    """Start pushing host.state to InfluxDB if configured; registers its stop with the host.

    host_network: connect from the namespace captured there (the demo's sandbox);
    alert_source: the firing alerts for the alert snapshot (None: no alert points).
    """
    cfg = host.inventory.settings.influxdb
    if cfg is None:
        return None
    factory = host_network.socket_factory if host_network is not None else None
    try:
        exporter = InfluxExporter(
            cfg,
            host.state,
            host.inventory,
            socket_factory=factory,
            alert_source=alert_source,
        )
        await exporter.start()
    except ValueError as exc:  # monitoring goes on without the export
        log.error("InfluxDB export disabled: %s", exc)
        return None
    host.on_stop(exporter.stop)
    return exporter
