"""The running service: inventory, state, scheduler, collectors, exporters and web together.

`netwatch run` and `netwatch demo` both build one Runtime. Reload keeps the running
inventory when the new file is invalid: nothing stops being monitored.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netwatch.core import telemetry
from netwatch.core.model import Device, Inventory
from netwatch.core.scheduler import Collector, Scheduler
from netwatch.core.state import State

log = logging.getLogger(__name__)


class PingCollector:
    """Adapts the shared ICMP engine to the scheduler's Collector shape."""

    name = "ping"

    def __init__(self, runtime: Runtime, pinger: Any) -> None:
        self._runtime = runtime
        self._pinger = pinger

    def applies(self, device: Device) -> bool:
        return device.ping

    def interval(self, device: Device) -> float:
        return device.ping_interval or self._runtime.inventory.settings.ping.interval

    async def collect(self, device: Device) -> Any:
        from netwatch.collectors import icmp

        return await icmp.probe(device, self._runtime.inventory.settings.ping, self._pinger)


@dataclass
class ReloadResult:
    ok: bool
    errors: list[str] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    changed: int = 0


class Runtime:
    def __init__(self, config_path: str | Path, inventory: Inventory) -> None:
        self.config_path = Path(config_path)
        self.inventory = inventory
        self.state = State(inventory)
        self.scheduler: Scheduler | None = None
        self.started_at = 0.0
        self.ready = False
        self._pinger: Any = None
        self._unregister_icmp: Any = None
        self._snmp: Any = None
        self._traps: Any = None
        self.alerts: Any = None  # netwatch.alerting.service.AlertService once started
        self.alert_engine: Any = None
        self._extra_stops: list[Any] = []
        self._reload_lock = asyncio.Lock()
        # Where sinks on the host reach from (the demo probes from a private namespace).
        self.host_network: Any = None
        self.public: Any = None  # netwatch.public.board.PublicBoard when the board runs
        self.public_socket: Any = None  # a listening socket for the board, bound beforehand

    @classmethod
    def from_file(cls, config_path: str | Path) -> Runtime:
        from netwatch.config.isolated import load

        inventory = load(config_path)
        telemetry.RELOAD_SUCCESS.set(1)
        telemetry.RELOAD_TIME.set(time.time())
        return cls(config_path, inventory)

    def collectors(self) -> list[Collector]:
        from netwatch.collectors.snmp.collector import SnmpCollector

        return [
            PingCollector(self, self._pinger),
            SnmpCollector(lambda: self.inventory, self._snmp),
        ]

    def metric_sources(self) -> list[Any]:
        """The /metrics families of every part that is running."""
        from netwatch.exporters import prometheus, prometheus_snmp

        def alert_families(state: Any) -> Any:
            # The alert service starts after the web server: look it up at scrape time.
            if self.alerts is None:
                return ()
            from netwatch.exporters import prometheus_alerts

            return prometheus_alerts.families(self.alerts.engine)

        return [*prometheus.DEFAULT_SOURCES, prometheus_snmp.families, alert_families]

    async def start(self) -> None:
        import netwatch.collectors.snmp.telemetry  # noqa: F401 (registers the engine's metrics)
        from netwatch.collectors import icmp_metrics
        from netwatch.collectors.icmp import Pinger
        from netwatch.collectors.snmp.engine import SnmpEngine

        self._pinger = await Pinger.create()
        self._unregister_icmp = icmp_metrics.register(self._pinger)
        self._snmp = SnmpEngine()
        settings = self.inventory.settings.scheduler
        self.scheduler = Scheduler(
            self.collectors(),
            self.state.record,
            max_concurrency=settings.max_concurrency,
            misfire_grace=settings.misfire_grace,
        )
        self.scheduler.start(self.inventory)
        if self.inventory.settings.snmp_traps.enabled:
            await self._start_traps()
        await self._start_alerting()
        from netwatch.exporters.influxdb.hook import attach as attach_influxdb

        await attach_influxdb(self, self.host_network)
        from netwatch.public.board import attach as attach_public

        self.public = await attach_public(self, self.public_socket)
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

        assert self.scheduler is not None
        try:
            service = AlertService.create(self.inventory, self.state, self.scheduler.request_poll)
        except (MaintenanceError, OSError, sqlite3.Error) as exc:
            # Monitoring and /metrics go on; the operator sees why nobody will be paged.
            log.error("alerting not started: %s", exc)
            return
        await service.start()
        self.alerts = service
        self.alert_engine = service.engine  # firing alerts for the InfluxDB exporter
        self.on_stop(service.stop)

    async def _start_traps(self) -> None:
        from netwatch.collectors.snmp.traps import TrapListener

        assert self.scheduler is not None
        listener = TrapListener(lambda: self.inventory, self.scheduler.request_poll)
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
        if self._pinger is not None:
            self._unregister_icmp()
            self._pinger.close()
        if self._snmp is not None:
            await self._snmp.close()

    def on_stop(self, coro_fn: Any) -> None:
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
            if self.public is not None:
                self.public.reload(new)
            telemetry.RELOAD_SUCCESS.set(1)
            telemetry.RELOAD_TIME.set(time.time())
            telemetry.RELOADS.labels("success").inc()
            log.info("reloaded: %d jobs added, %d removed, %d changed", added, removed, changed)
            return ReloadResult(True, [], added, removed, changed)
