"""The engine's seams: what it reads from state, and the callables it is given.

Structural types (Protocols): netwatch.core.state's DeviceState and the ping collector's
observations satisfy them without importing this module; tests pass their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from netwatch.alerting.types import Notification
from netwatch.core.model import Device


class RadioView(Protocol):
    """An AP's SNMP state, as far as alerting reads it."""

    def wifi_down(self) -> bool | None:
        """True when every enabled radio is oper-down; None when SNMP says nothing."""
        ...


class DeviceStateView(Protocol):
    """One device's state after an observation was applied (netwatch.core.state.DeviceState)."""

    @property
    def device(self) -> Device: ...

    @property
    def snmp(self) -> RadioView | None: ...


@runtime_checkable
class EchoCounts(Protocol):
    """One round of echoes (netwatch.core.observations.PingResult)."""

    @property
    def sent(self) -> int: ...

    @property
    def received(self) -> int: ...

    @property
    def rtt_avg(self) -> float | None: ...


@runtime_checkable
class PingRound(Protocol):
    """An observation that is a ping round (netwatch.core.observations.PingObservation)."""

    @property
    def time(self) -> float: ...

    @property
    def result(self) -> EchoCounts: ...


class ObservationListener(Protocol):
    """What State calls after each applied observation: Engine.on_observation is one."""

    def __call__(self, device_state: DeviceStateView, observation: object, /) -> None: ...


# Ask the scheduler for an immediate extra run: (device, collector, reason) → whether a job
# took it (False: the device has no such job, e.g. removed by a reload).
PollRequest = Callable[[str, str, str], bool]
# Where the path toward an address breaks (blocking; run in a thread): last hop, or None.
Tracer = Callable[[str], str | None]
# Takes a notification into the evaluation's open transaction (Outbox.enqueue); raises to
# roll the alert change back with it.
Sink = Callable[[Notification], None]
