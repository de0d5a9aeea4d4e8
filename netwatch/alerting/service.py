"""Alerting as a running part of netwatch: engine + outbox delivery on one SQLite file.

service = AlertService.create(inventory, state, scheduler.request_poll)
await service.start(); ...; service.reload(new_inventory); ...; await service.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Generator
from typing import Protocol

from netwatch.alerting import store
from netwatch.alerting.correlation import ComplaintFeed, MeasuredUp
from netwatch.alerting.engine import Engine
from netwatch.alerting.maintenance import Maintenance, MaintenanceError
from netwatch.alerting.outbox import Outbox
from netwatch.alerting.seams import ObservationListener, PollRequest, Tracer
from netwatch.alerting.snapshot import AlertSnapshot
from netwatch.core.model import Inventory

log = logging.getLogger("netwatch.alerting")


class ListenerHost(Protocol):
    """Where the engine subscribes to observations (netwatch.core.state.State)."""

    def add_listener(self, listener: ObservationListener, /) -> None: ...


def default_tracer(inventory: Inventory) -> Tracer | None:
    """The scapy traceroute in worker processes with the configured limits, or None."""
    s = inventory.settings.alerting
    if not s.traceroute:
        return None
    from netwatch.alerting.trace_pool import TracePool

    return TracePool(s.traceroute_workers, s.traceroute_max_hops, s.traceroute_timeout)


class AlertService:
    """Owns the engine, the outbox delivery loop and their tasks."""

    def __init__(self, engine: Engine, outbox: Outbox) -> None:
        self.engine = engine
        self.outbox = outbox
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def create(
        cls,
        inventory: Inventory,
        state: ListenerHost,
        request_poll: PollRequest | None,
        *,
        tracer: Tracer | bool | None = True,
        clock: Callable[[], float] = time.time,
        complaints: ComplaintFeed | None = None,
        measured_up: MeasuredUp | None = None,
    ) -> AlertService:
        """Open the database, build engine and outbox; raises MaintenanceError on bad windows."""
        path = inventory.settings.alerting.db_path
        conn = store.connect(path)
        try:
            outbox = Outbox.for_inventory(inventory, path)
        except BaseException:
            conn.close()  # the caller retries: no connection may pile up per attempt
            raise
        engine = Engine(
            inventory,
            conn=conn,
            outbox=outbox,
            request_poll=request_poll,
            tracer=default_tracer(inventory) if tracer is True else tracer or None,
            clock=clock,
        )
        engine.correlation.feed = complaints
        engine.correlation.measured_up = measured_up
        outbox.repost_filter = engine.is_confirmed
        state.add_listener(engine.on_observation)
        return cls(engine, outbox)

    def snapshot(self) -> AlertSnapshot:
        """The engine's latest read-only snapshot (for exporters)."""
        return self.engine.snapshot()

    async def start(self) -> None:
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(self.engine.run(self._stop), name="alert-engine"),
            asyncio.create_task(self.outbox.run(), name="alert-outbox"),
        ]

    def reload(self, inventory: Inventory) -> list[str]:
        """Adopt a reloaded inventory; a bad maintenance window keeps the old windows."""
        steps = self.reload_steps(inventory)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]

    def reload_steps(self, inventory: Inventory) -> Generator[None, None, list[str]]:
        """reload() in pieces (core/turns.py runs them with the loop's work in between): the
        engine adopts the inventory whole in its last piece (Engine.inventory_steps)."""
        errors: list[str] = []
        yield from self.engine.inventory_steps(inventory)
        try:
            self.engine.maintenance = Maintenance(inventory.settings.alerting.maintenance)
        except MaintenanceError as exc:
            errors.append(str(exc))
            log.error("reload: %s; keeping the previous maintenance windows", exc)
        self.outbox.reload(inventory)
        return errors

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            if task.get_name() == "alert-outbox":
                task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.outbox.close()
        self.engine.store.close()
