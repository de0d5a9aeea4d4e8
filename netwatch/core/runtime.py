"""The running service: inventory, state, scheduler, collectors, exporters and web together.

`netwatch run` and `netwatch demo` both build one Runtime. Reload keeps the running
inventory when the new file is invalid: nothing stops being monitored.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from netwatch.core import telemetry
from netwatch.core.model import Inventory
from netwatch.core.plugins import AnyPlugin, Context, Exporter, RunningCollector
from netwatch.core.scheduler import Scheduler
from netwatch.core.state import State

if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from netwatch.alerting.service import AlertService
    from netwatch.collectors.snmp.traps import TrapListener
    from netwatch.demo.hostnet import HostNetwork
    from netwatch.exporters.influxdb.points import AlertPoint
    from netwatch.exporters.prometheus import Source

log = logging.getLogger(__name__)

Stop = Callable[[], Awaitable[None]]


@dataclass
class ReloadResult:
    ok: bool
    errors: list[str] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    changed: int = 0


def collector_plugins() -> tuple[AnyPlugin, ...]:
    """The collectors netwatch runs (netwatch.collectors.registry), in exposition order."""
    from netwatch.collectors.registry import COLLECTORS

    return COLLECTORS


class Runtime:
    def __init__(self, config_path: str | Path, inventory: Inventory) -> None:
        self.config_path = Path(config_path)
        self.inventory = inventory
        self.plugins = collector_plugins()
        self.state = State(inventory)
        self.scheduler: Scheduler | None = None
        self.started_at = 0.0
        self.ready = False
        self.collectors: list[RunningCollector] = []
        self.exporters: list[Exporter] = []  # push sinks (their stop runs with on_stop)
        self._traps: TrapListener | None = None
        self.alerts: AlertService | None = None  # once started
        self._extra_stops: list[Stop] = []
        self._reload_lock = asyncio.Lock()
        # Where sinks on the host reach from (the demo probes from a private namespace).
        self.host_network: HostNetwork | None = None

    @classmethod
    def from_file(cls, config_path: str | Path) -> Runtime:
        from netwatch.config.isolated import load

        inventory = load(config_path)
        telemetry.RELOAD_SUCCESS.set(1)
        telemetry.RELOAD_TIME.set(time.time())
        return cls(config_path, inventory)

    def metric_sources(self) -> list[Source]:
        """The /metrics sources: inventory and rollup, each collector, the alert engine."""
        from netwatch.exporters import prometheus

        def alert_families(state: State) -> Iterable[Metric]:
            # The alert service starts after the web server: look it up at scrape time.
            if self.alerts is None:
                return ()
            from netwatch.exporters import prometheus_alerts

            return prometheus_alerts.families(self.alerts.engine)

        return [prometheus.inventory_families, *self.plugins, alert_families]

    def alert_snapshot(self) -> list[AlertPoint]:
        """The open alerts as plain records (the InfluxDB alert snapshot reads these)."""
        if self.alerts is None:
            return []
        return [a.snapshot() for a in list(self.alerts.engine.open.values())]

    def recheck(self, device: str, collector: str, reason: str) -> None:
        """A recheck request (trap, alert confirmation) for the scheduler; never a call into a
        collector."""
        if self.scheduler is not None:
            self.scheduler.request_poll(device, collector, reason)

    async def start(self) -> None:
        ctx = Context(lambda: self.inventory)
        for plugin in self.plugins:
            self.collectors.append(await plugin.start(ctx))
        settings = self.inventory.settings.scheduler
        self.scheduler = Scheduler(
            self.collectors,
            self.state.record,
            max_concurrency=settings.max_concurrency,
            misfire_grace=settings.misfire_grace,
        )
        self.scheduler.start(self.inventory)
        if self.inventory.settings.snmp_traps.enabled:
            await self._start_traps()
        await self._start_alerting()
        from netwatch.exporters.influxdb.hook import attach as attach_influxdb

        influx = await attach_influxdb(self, self.host_network, alert_source=self.alert_snapshot)
        if influx is not None:
            self.exporters.append(influx)
        self.started_at = time.time()
        self.ready = True
        log.info(
            "monitoring %d devices in %d villages (%d jobs)",
            len(self.inventory.devices),
            len(self.inventory.villages),
            self.scheduler.job_count,
        )

    async def _start_alerting(self) -> None:
        from netwatch.alerting.maintenance import MaintenanceError
        from netwatch.alerting.service import AlertService

        try:
            service = AlertService.create(self.inventory, self.state, self.recheck)
        except (MaintenanceError, OSError, sqlite3.Error) as exc:
            # Monitoring and /metrics go on; the operator sees why nobody will be paged.
            log.error("alerting not started: %s", exc)
            return
        await service.start()
        self.alerts = service
        self.on_stop(service.stop)

    async def _start_traps(self) -> None:
        from netwatch.collectors.snmp.traps import TrapListener

        listener = TrapListener(lambda: self.inventory, self.recheck)
        try:
            host, port = await listener.start()
        except OSError as exc:  # a taken or privileged port must not stop the polling
            log.error("SNMP trap listener not started: %s", exc)
            return
        log.info("listening for SNMP traps on %s:%d", host, port)
        self._traps = listener
        self.on_stop(listener.stop)

    async def stop(self) -> None:
        self.ready = False
        # Collection stops first, so no observation reaches a part already stopped.
        if self.scheduler is not None:
            await self.scheduler.shutdown()
        for stop in reversed(self._extra_stops):
            try:
                await stop()
            except Exception:
                log.exception("stopping %s failed", stop)
        for collector in reversed(self.collectors):
            try:
                await collector.close()
            except Exception:
                log.exception("closing the %s collector failed", collector.name)
        self.collectors = []

    def on_stop(self, coro_fn: Stop) -> None:
        """Register an async callable run at stop (exporters, listeners), last first."""
        self._extra_stops.append(coro_fn)

    async def reload(self) -> ReloadResult:
        """Load the config file again; on any error keep the running inventory."""
        from netwatch.config import ConfigError
        from netwatch.config.isolated import load_async

        async with self._reload_lock:
            try:
                # A child process parses: neither its memory peak nor its CPU lands here.
                new = await load_async(self.config_path)
            except ConfigError as exc:
                telemetry.RELOAD_SUCCESS.set(0)
                telemetry.RELOADS.labels("failure").inc()
                for line in exc.errors:
                    log.error("reload rejected: %s", line)
                return ReloadResult(False, list(exc.errors))
            except OSError as exc:
                telemetry.RELOAD_SUCCESS.set(0)
                telemetry.RELOADS.labels("failure").inc()
                log.error("reload rejected: %s: %s", self.config_path, exc)
                return ReloadResult(False, [f"{self.config_path}: {exc}"])
            self.inventory = new
            self.state.replace_inventory(new)
            added = removed = changed = 0
            if self.scheduler is not None:
                added, removed, changed = self.scheduler.sync(new)
            if self._traps is not None:
                await self._traps.reload()
            if self.alerts is not None:
                for error in self.alerts.reload(new):
                    log.error("reload: %s", error)
            telemetry.RELOAD_SUCCESS.set(1)
            telemetry.RELOAD_TIME.set(time.time())
            telemetry.RELOADS.labels("success").inc()
            log.info("reloaded: %d jobs added, %d removed, %d changed", added, removed, changed)
            return ReloadResult(True, [], added, removed, changed)
