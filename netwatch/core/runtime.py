"""The running service: inventory, state, scheduler, collectors, exporters and web together.

`netwatch run` and `netwatch demo` both build one Runtime. Reload keeps the running
inventory when the new file is invalid: nothing stops being monitored. A part that cannot
run (alert store, trap listener, InfluxDB spool, a notifier) is a fault on `health` and is
retried; monitoring goes on.

Over 400 lines because it is the one place where every part is wired, started, reloaded and
stopped in order (collectors, state, exporters, alerting, public board, cluster, traps):
split, the order of those steps would be spread over several files.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import socket
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from netwatch.cluster.member import Member
from netwatch.core import memory, telemetry
from netwatch.core.health import Health
from netwatch.core.heap import Settler
from netwatch.core.model import Inventory
from netwatch.core.notifier_health import NotifierWatch
from netwatch.core.plugins import AnyPlugin, Context, Exporter, RunningCollector
from netwatch.core.scheduler import Scheduler
from netwatch.core.state import State, VillageStatus
from netwatch.core.turns import in_turns

if TYPE_CHECKING:
    from prometheus_client.core import Metric

    from netwatch.alerting.service import AlertService
    from netwatch.cluster.sender import SenderLease
    from netwatch.collectors.snmp.traps import TrapListener
    from netwatch.demo.hostnet import HostNetwork
    from netwatch.exporters.influxdb.points import AlertPoint
    from netwatch.exporters.prometheus import Source
    from netwatch.public.board import PublicBoard

log = logging.getLogger(__name__)

Stop = Callable[[], Awaitable[None]]
# Seconds between attempts to start a part that failed (doubling up to the last).
RETRY_FIRST = 1.0
RETRY_MAX = 60.0


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
    def __init__(
        self,
        config_path: str | Path,
        inventory: Inventory,
        member: Member | None = None,
        digest: str | None = None,
    ) -> None:
        self.config_path = Path(config_path)
        self.inventory = inventory
        # The loader child's digest of the running inventory (netwatch.config.isolated): a
        # reload passes it, and a file that reads the same comes back as "unchanged".
        self.digest = digest
        # This instance's shard and replica (settled: defaults filled in by the loader).
        self.member = member or Member(inventory.shard or 0, "a")
        self.plugins = collector_plugins()
        self.state = State(inventory)
        self.scheduler: Scheduler | None = None
        self.started_at = 0.0
        self.ready = False
        self.health = Health()
        self.notifiers = NotifierWatch(self.health, lambda: self.inventory.settings)
        self.collectors: list[RunningCollector] = []
        self.exporters: list[Exporter] = []  # push sinks (their stop runs with on_stop)
        self._traps: TrapListener | None = None
        self.alerts: AlertService | None = None  # once started
        self.sender: SenderLease | None = None  # cluster with etcd: the sender lease
        self._extra_stops: list[Stop] = []
        self._tasks: set[asyncio.Task[None]] = set()  # heartbeat, retries, watches
        self.heap = Settler()  # freezes the long-lived heap (netwatch/core/heap.py)
        self._reload_lock = asyncio.Lock()
        self._next_reload: asyncio.Task[ReloadResult] | None = None
        # Where sinks on the host reach from (the demo probes from a private namespace).
        self.host_network: HostNetwork | None = None
        self.public: PublicBoard | None = None  # the public board, when it runs
        self.public_socket: socket.socket | None = None  # its listening socket, bound beforehand

    @classmethod
    def from_file(cls, config_path: str | Path, member: Member | None = None) -> Runtime:
        """Load in a child process, cut to member's shard (the whole inventory without one)."""
        from netwatch.cluster.member import settle
        from netwatch.config.isolated import load_digested

        loaded = load_digested(config_path, member or Member())
        inventory = loaded.inventory
        assert inventory is not None  # no digest was given: always the inventory
        _check_windows(config_path, inventory)
        telemetry.RELOAD_SUCCESS.set(1)
        telemetry.RELOAD_TIME.set(time.time())
        settled = settle(member or Member(), inventory.settings.cluster)
        return cls(config_path, inventory, settled, loaded.digest)

    def metric_sources(self) -> list[Source]:
        """The /metrics sources: inventory and rollup, each collector, alerts, the cluster."""
        from netwatch.exporters import prometheus, prometheus_alerts

        # The alert service may start after the web server: looked up at scrape time.
        alert_families = prometheus_alerts.AlertFamilies(lambda: self.alerts)

        def cluster_families(state: State) -> Iterable[Metric]:
            from netwatch.cluster import metrics

            return metrics.families(self.inventory, self.member, self.sender)

        from netwatch.exporters import prometheus_links

        return [
            prometheus.inventory_families,
            *self.plugins,
            alert_families,
            cluster_families,
            prometheus_links.families,
        ]

    def alert_snapshot(self) -> list[AlertPoint]:
        """The open alerts of the engine's read-only snapshot (InfluxDB alert points)."""
        if self.alerts is None:
            return []
        return list(self.alerts.snapshot().alerts)

    def measured_up(self, village: str) -> bool:
        """Every measurement of the village (ping, SNMP radios, service probes) says up now."""
        return self.state.village_status(village) is VillageStatus.UP

    def recheck(self, device: str, collector: str, reason: str) -> bool:
        """A recheck request (trap, alert confirmation) for the scheduler; never a call into a
        collector. False when no such job runs."""
        if self.scheduler is None:
            return False
        return self.scheduler.request_poll(device, collector, reason)

    async def start(self) -> None:
        from netwatch.cluster import metrics as cluster_metrics

        # A settle is asked for at the end: CPython's full passes would walk the per-device
        # state being built, again and again, until then (netwatch/core/heap.py).
        self.heap.hold()
        self._spawn(cluster_metrics.beat(), "heartbeat")
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
        from netwatch.public.board import attach as attach_public

        self.public = await attach_public(self, self.public_socket)
        self.started_at = time.time()
        self.ready = True
        memory.TRIMMER.request()  # the start-up's transients (the loader's pickle) are gone
        self.heap.request(self._settle_delay())
        log.info(
            "monitoring %d devices in %d villages (%d jobs) as shard %d of %d, replica %s",
            len(self.inventory.devices),
            len(self.inventory.villages),
            self.scheduler.job_count,
            self.member.shard,
            self.inventory.settings.cluster.shards,
            self.member.replica,
        )

    def _settle_delay(self) -> float:
        """Per-device state is built by each device's first round: settle after those."""
        settings = self.inventory.settings
        return min(max(settings.ping.interval, settings.snmp.interval), 300.0)

    def _spawn(self, coro: Coroutine[object, object, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def retry(self, attempt: Callable[[], Awaitable[bool]], component: str) -> None:
        """Call the async attempt() with a doubling delay until it returns True or we stop."""

        async def loop() -> None:
            delay = RETRY_FIRST
            while True:
                await asyncio.sleep(delay)
                try:
                    if await attempt():
                        return
                except Exception as exc:  # the retry loop itself must never end in silence
                    self.health.fail(component, f"{type(exc).__name__}: {exc}")
                delay = min(delay * 2, RETRY_MAX)

        self._spawn(loop(), f"retry-{component}")

    async def _start_alerting(self) -> None:
        if not await self._try_alerting():
            self.retry(self._try_alerting, "alert_store")

    async def _try_alerting(self) -> bool:
        """Open the alert store and start the engine; False (and a fault) if it cannot."""
        from netwatch.alerting.service import AlertService
        from netwatch.public.complaint_feed import StoreFeed

        path = self.inventory.settings.alerting.db_path
        # Complaints are weighed whether or not the board runs now (it may have run before).
        feed = StoreFeed(self.inventory.settings.public.complaints_db)
        try:
            service = AlertService.create(
                self.inventory, self.state, self.recheck, complaints=feed,
                measured_up=self.measured_up,
            )  # fmt: skip
        except (OSError, sqlite3.Error, RuntimeError) as exc:
            # Monitoring and /metrics go on; /readyz, a metric and the log say nobody is paged.
            self.health.fail("alert_store", f"cannot open the alert database {path}: {exc}")
            return False
        self._start_sender(service)
        service.engine.on_store_fault = functools.partial(self._alert_store_writes, path)
        await service.start()
        self.alerts = service
        self.on_stop(lambda: asyncio.to_thread(feed.close))  # runs after service.stop
        self.on_stop(service.stop)
        self.health.ok("alert_store")
        self.notifiers.check()
        self._spawn(self.notifiers.run(), "notifiers")
        return True

    def _alert_store_writes(self, path: str, fault: str | None) -> None:
        """The engine stores its ticks again (None) or cannot (the reason); retried each tick."""
        if fault is None:
            self.health.ok("alert_store")
        else:
            self.health.fail("alert_store", f"cannot write the alert database {path}: {fault}")

    def _start_sender(self, service: AlertService) -> None:
        """Cluster with etcd: the sender lease and the told log gate the direct notifiers."""
        if self.inventory.settings.cluster.etcd is None or self.sender is not None:
            return
        from netwatch.cluster.told import sender_gate

        self.sender, resign = sender_gate(self.inventory, self.member, self.health, service.outbox)
        self._spawn(self.sender.run(), "sender-lease")
        self.on_stop(resign)

    async def _start_traps(self) -> None:
        if not await self._try_traps():
            self.retry(self._try_traps, "trap_listener")

    async def _try_traps(self) -> bool:
        """Bind the trap listener; False (and a fault) when the port cannot be bound."""
        from netwatch.collectors.snmp.traps import TrapListener

        settings = self.inventory.settings.snmp_traps
        if not settings.enabled or self._traps is not None:
            return True  # switched off, or started by a reload, meanwhile
        listener = TrapListener(lambda: self.inventory, self.recheck)
        try:
            host, port = await listener.start()
        except OSError as exc:  # a taken or privileged port must not stop the polling
            where = f"{settings.address}:{settings.port}"
            self.health.fail("trap_listener", f"cannot bind {where}: {exc}")
            return False
        log.info("listening for SNMP traps on %s:%d", host, port)
        self._traps = listener
        self.health.ok("trap_listener")
        return True

    async def stop(self) -> None:
        self.ready = False
        self.heap.cancel()
        for task in list(self._tasks):
            task.cancel()
        # Collection stops first, so no observation reaches a part already stopped.
        if self.scheduler is not None:
            await self.scheduler.shutdown()
        for stop in reversed(self._extra_stops):
            try:
                await stop()
            except Exception:
                log.exception("stopping %s failed", stop)
        if self._traps is not None:
            await self._traps.stop()
            self._traps = None
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
        """Load the config file again; on any error keep everything running as it was.

        All-or-nothing: the new file is loaded and checked in full (a child process parses
        it), then every part that could refuse it is prepared; only then is anything swapped.
        """
        # Reloads never queue up: callers arriving while one runs share the next one (it
        # reads the file after theirs was written), so N requests cost at most two reloads.
        if self._next_reload is None:
            self._next_reload = asyncio.get_running_loop().create_task(self._reload_after())
        return await asyncio.shield(self._next_reload)

    async def _reload_after(self) -> ReloadResult:
        async with self._reload_lock:
            self._next_reload = None  # from here on a new caller needs a fresh read
            try:
                return await self._reload()
            except Exception as exc:  # a bug must not turn into a bare 500 and a half reload
                log.exception("reload failed")
                return self._rejected([f"{self.config_path}: internal error: {exc!r}"])
            finally:
                # A reload held two inventories and the loader's pickle for a moment; the
                # allocator keeps that high-water mark unless told (netwatch/core/memory.py).
                memory.TRIMMER.request()

    def _succeeded(self, result: ReloadResult) -> ReloadResult:
        telemetry.RELOAD_SUCCESS.set(1)
        telemetry.RELOAD_TIME.set(time.time())
        telemetry.RELOADS.labels("success").inc()
        return result

    async def _unchanged(self) -> ReloadResult:
        """The file reads as the running inventory: nothing to swap or re-sync, a successful
        reload. What a reload is also asked for is still done: outside causes checked again."""
        if self.alerts is not None:
            self.notifiers.check()  # a secret file fixed meanwhile counts now, as on any reload
        if self.inventory.settings.snmp_traps.enabled and self._traps is None:
            await self._try_traps()  # the port freed meanwhile: bind now (its retry loop runs on)
        log.info("reloaded: %s unchanged, 0 jobs added, 0 removed, 0 changed", self.config_path)
        return self._succeeded(ReloadResult(True))

    def _rejected(self, errors: list[str]) -> ReloadResult:
        telemetry.RELOAD_SUCCESS.set(0)
        telemetry.RELOADS.labels("failure").inc()
        for line in errors:
            log.error("reload rejected: %s", line)
        return ReloadResult(False, errors)

    async def _reload(self) -> ReloadResult:
        from netwatch.config import ConfigError
        from netwatch.config.isolated import load_changed

        try:
            running = self.inventory
            loaded = await load_changed(
                self.config_path,
                self.member,
                share=running.devices,
                unless=self.digest,
                villages=running.villages,
            )
        except ConfigError as exc:
            return self._rejected(list(exc.errors))
        except OSError as exc:
            return self._rejected([f"{self.config_path}: {exc}"])
        # The same file again (a reload storm, a config-management run): the child said so by
        # digest, and no second copy was built. Even a copy let go at once left pymalloc's
        # arenas behind (the soak: +8 MiB of RSS per storm); adopting it would free the old
        # inventory among everything allocated since the start, which keeps even more.
        new = loaded.inventory
        if new is None:
            return await self._unchanged()
        if new == self.inventory:  # no digest known yet (a Runtime built without the child)
            self.digest = loaded.digest
            return await self._unchanged()
        errors, prepared = self._prepare(new)
        if errors:
            return self._rejected(errors)
        # State builds its new table in pieces and adopts it whole in the last one; the
        # runtime's inventory changes in that same piece.
        await in_turns(self.state.replace_steps(new))
        self.inventory = new
        self.digest = loaded.digest
        # Each part adopts the inventory in its own turn of the event loop, the scheduler in
        # slices: polling and replies go on between them (issue 10: a reload at 50,000 devices
        # held the loop ~0.6 s in one piece). Until a part's turn it works on the old one.
        await asyncio.sleep(0)
        added = removed = changed = 0
        if self.scheduler is not None:
            added, removed, changed = await self.scheduler.sync_async(new)
        await self._reload_traps(new, prepared)
        if self.alerts is not None:
            for error in await in_turns(self.alerts.reload_steps(new)):
                log.error("reload: %s", error)
            self.notifiers.check()
            await asyncio.sleep(0)
        if self.public is not None:
            self.public.reload(new)
        self.heap.request(self._settle_delay())  # the old inventory's cycles go, the new freezes
        log.info("reloaded: %d jobs added, %d removed, %d changed", added, removed, changed)
        return self._succeeded(ReloadResult(True, [], added, removed, changed))

    def _prepare(self, new: Inventory) -> tuple[list[str], socket.socket | None]:
        """What the running parts would refuse in new, before anything is swapped.

        Returns the errors and, when the trap listener moves, its new socket, bound now:
        a port that cannot be bound rejects the reload while the old listener still runs.
        """
        from netwatch.cluster.told import etcd_change
        from netwatch.collectors.snmp.traps import bind
        from netwatch.config import ConfigError

        try:
            _check_windows(self.config_path, new)
        except ConfigError as exc:
            return list(exc.errors), None
        if (why := etcd_change(self.inventory, new)) is not None:
            return [f"{self.config_path}: {why}"], None
        traps = new.settings.snmp_traps
        if self._traps is None or not traps.enabled:
            return [], None
        wanted = self._traps.wanted(traps)
        if not self._traps.needs_new_socket(wanted):
            return [], None
        try:
            return [], bind(wanted)
        except OSError as exc:
            where = f"{wanted.address}:{wanted.port}"
            return [f"{self.config_path}: settings.snmp_traps: cannot bind {where}: {exc}"], None

    async def _reload_traps(self, new: Inventory, sock: socket.socket | None) -> None:
        enabled = new.settings.snmp_traps.enabled
        if self._traps is not None and not enabled:
            await self._traps.stop()
            self._traps = None
            self.health.forget("trap_listener")
        elif self._traps is not None:
            await self._traps.reload(sock)
        elif enabled:
            self.health.forget("trap_listener")
            await self._start_traps()
        else:
            self.health.forget("trap_listener")

    def readiness(self) -> tuple[bool, list[str]]:
        """(ready, reasons): not ready while starting or while any part cannot run."""
        if not self.ready:
            return False, ["starting"]
        faults = [f"{part}: {why}" for part, why in sorted(self.health.faults.items())]
        return not faults, faults


def _check_windows(config_path: str | Path, inventory: Inventory) -> None:
    """Raise ConfigError when a maintenance window cannot be parsed (at start and reload)."""
    from netwatch.alerting.maintenance import Maintenance, MaintenanceError
    from netwatch.config import ConfigError
    from netwatch.config.errors import Issue

    try:
        Maintenance(inventory.settings.alerting.maintenance)
    except MaintenanceError as exc:
        where = "settings.alerting.maintenance"
        raise ConfigError([Issue(str(config_path), 0, where, str(exc))]) from None
