"""The engine's seams: what it reads from state, and the callables it is given.

Structural types (Protocols): netwatch.core.state's DeviceState and the ping collector's
observations satisfy them without importing this module; tests pass their own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from netwatch.alerting.records import Flap, OpenAlert, Silence
from netwatch.alerting.types import Notification
from netwatch.core.model import Device
from netwatch.core.plugins import Verdict


class DeviceStateView(Protocol):
    """One device's state after an observation was applied (netwatch.core.state.DeviceState)."""

    @property
    def device(self) -> Device: ...

    def verdicts(self) -> list[Verdict]:
        """Every collector's judgement of the device (an AP whose radios are all down is
        NOT_SERVING by its SNMP part)."""
        ...


@runtime_checkable
class EchoCounts(Protocol):
    """One round of echoes (collectors.icmp.observation.PingResult)."""

    @property
    def sent(self) -> int: ...

    @property
    def received(self) -> int: ...

    @property
    def rtt_avg(self) -> float | None: ...


@runtime_checkable
class EchoReport(Protocol):
    """What a device's echo stream says (collectors.icmp.observation.PingObservation)."""

    @property
    def time(self) -> float: ...

    @property
    def event(self) -> str:
        """round | up | down | lost | losing | answered"""
        ...

    @property
    def result(self) -> EchoCounts | None:
        """The round's echoes; None when only the stream's state changed."""
        ...

    @property
    def up(self) -> bool | None: ...

    @property
    def failing(self) -> bool: ...

    @property
    def fail_since(self) -> float | None: ...

    @property
    def seen_at(self) -> float | None: ...


class ObservationListener(Protocol):
    """What State calls after each applied observation: Engine.on_observation is one."""

    def __call__(self, device_state: DeviceStateView, observation: object, /) -> None: ...


# Ask the scheduler for an immediate extra run: (device, collector, reason) → whether a job
# took it (False: the device has no such job, e.g. removed by a reload).
PollRequest = Callable[[str, str, str], bool]


class Tracer(Protocol):
    """Runs traces off the event loop (trace_pool.TracePool: worker processes)."""

    def submit(self, address: str, /) -> asyncio.Future[str | None] | None:
        """A future of where the path toward address breaks (None: it does not); None when
        no trace can be queued now."""
        ...

    def start(self) -> None:
        """Get ready in the background (the engine's first tick), before any trace."""
        ...

    async def aclose(self) -> None: ...


# Takes a notification into the evaluation's open transaction (Outbox.enqueue); raises to
# roll the alert change back with it.
Sink = Callable[[Notification], None]


class EngineStore(Protocol):
    """What the engine's stages read and write (store.AlertStore, on the alert database).

    Writes happen inside transaction(); a stage's writes inside savepoint() are undone when the
    stage raises.
    """

    def transaction(self) -> contextlib.AbstractContextManager[object]: ...
    def savepoint(self) -> contextlib.AbstractContextManager[None]: ...
    def data_version(self) -> int: ...
    def open_alerts(self) -> list[OpenAlert]: ...
    def acknowledgements(self) -> dict[int, str | None]: ...
    def last_resolved(self, fp: str) -> tuple[OpenAlert, float] | None: ...
    def changes_since(self, horizon: float) -> Iterator[tuple[str, list[float]]]: ...
    def insert_alert(self, a: OpenAlert) -> int: ...
    def update_cause(self, a: OpenAlert) -> None: ...
    def save_marks(self, a: OpenAlert) -> None: ...
    def resolve_alert(self, alert_id: int, now: float) -> None: ...
    def flaps(self) -> dict[str, Flap]: ...
    def start_flap(self, fp: str, flap: Flap) -> None: ...
    def touch_flap(self, fp: str, now: float) -> None: ...
    def end_flap(self, fp: str) -> None: ...
    def current_states(self) -> dict[str, str]: ...
    def record_state(self, village: str, state: str, now: float, maintenance: bool) -> None: ...
    def silences(self, now: float, include_ended: bool = False) -> list[Silence]: ...
