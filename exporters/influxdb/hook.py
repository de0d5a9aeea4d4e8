"""Wiring for the runtime: start the exporter when settings.influxdb is set, stop it at stop."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from netwatch.core.health import Health
from netwatch.core.model import Inventory
from netwatch.core.state import State
from netwatch.demo.hostnet import HostNetwork
from netwatch.exporters.influxdb.exporter import InfluxExporter, SpoolUnavailable
from netwatch.exporters.influxdb.points import AlertPoint

log = logging.getLogger(__name__)

AlertSource = Callable[[], Iterable[AlertPoint]]


class Host(Protocol):
    """What the exporter needs of the running service (netwatch.core.runtime.Runtime)."""

    @property
    def inventory(self) -> Inventory: ...

    @property
    def state(self) -> State: ...

    @property
    def health(self) -> Health: ...

    def on_stop(self, coro_fn: Callable[[], Awaitable[None]]) -> None: ...

    def retry(self, attempt: Callable[[], Awaitable[bool]], component: str) -> None: ...


async def attach(
    host: Host,
    host_network: HostNetwork | None = None,
    alert_source: AlertSource | None = None,
) -> InfluxExporter | None:
    """Start pushing host.state to InfluxDB if configured; registers its stop with the host.

    host_network: connect from the namespace captured there (the demo's sandbox);
    alert_source: the firing alerts for the alert snapshot (None: no alert points). A spool
    that cannot be opened or written is a fault of `influxdb_spool` on the host's health
    (/readyz, netwatch_component_up) and is retried; monitoring never waits for it.
    """
    cfg = host.inventory.settings.influxdb
    if cfg is None:
        return None

    def on_fault(reason: str | None) -> None:
        if reason is None:
            host.health.ok("influxdb_spool")
        else:
            host.health.fail("influxdb_spool", reason)

    factory = host_network.socket_factory if host_network is not None else None
    try:
        exporter = InfluxExporter(
            cfg,
            host.state,
            host.inventory,
            socket_factory=factory,
            alert_source=alert_source,
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
        host.on_stop(exporter.stop)
        return True

    try:
        started = await start()
    except ValueError as exc:  # an unreadable secret or CA file
        log.error("InfluxDB export disabled: %s", exc)
        return None
    if not started:
        host.retry(start, "influxdb_spool")
    return exporter
