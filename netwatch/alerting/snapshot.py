"""The engine's read-only snapshot: what exporters and the web read, never the engine itself.

Published by the engine after each evaluation (one reference assignment): a scrape in another
thread reads a finished snapshot and never iterates the engine's live dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, TypeVar

from netwatch.alerting.records import OpenAlert
from netwatch.alerting.rules import ServiceState

V = TypeVar("V")


class SnapshotSource(Protocol):
    """What exporters are given: the engine, or the service that runs it."""

    def snapshot(self) -> AlertSnapshot: ...


@dataclass(frozen=True, slots=True)
class AlertView:
    """One open alert."""

    id: int
    fingerprint: str
    labels: Mapping[str, str]
    starts_at: float
    notified: bool  # False while a muter holds its FIRING notification
    suppressed_by: str | None
    acknowledged_by: str | None
    escalation_level: int
    cause: str | None = None  # the engine's diagnosis ("router_down:r1", "upstream_down:pop")
    affected_villages: tuple[str, ...] = ()  # village codes behind an upstream outage
    ends_at: float | None = None  # open: never set (an AlertRecord like types.Alert)
    complaints: int = 0  # residents' complaints attached (correlation.py)

    @classmethod
    def of(cls, a: OpenAlert) -> AlertView:
        """The alert's view, built once until one of its fields changes (OpenAlert.view)."""
        view = a.view
        if isinstance(view, AlertView):
            return view
        view = a.view = cls._build(a)
        return view

    @classmethod
    def _build(cls, a: OpenAlert) -> AlertView:
        return cls(
            a.id,
            a.fingerprint,
            MappingProxyType(dict(a.labels)),
            a.starts_at,
            a.notified_at is not None,
            a.suppressed_by,
            a.acknowledged_by,
            a.escalation_level,
            a.cause,
            a.affected_villages,
            complaints=a.complaints,
        )


@dataclass(frozen=True, slots=True)
class AlertSnapshot:
    taken_at: float
    villages: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    """Village code → district code, every village of the inventory, in its order."""
    shown: Mapping[str, ServiceState] = field(default_factory=lambda: MappingProxyType({}))
    """State shown (maintenance overlay) of villages decided since the start."""
    recorded: Mapping[str, ServiceState] = field(default_factory=lambda: MappingProxyType({}))
    """Last recorded (history) state of each village that has one."""
    alerts: tuple[AlertView, ...] = ()
    flapping: int = 0
    silences_active: int = 0
    evaluations: int = 0
    errors: int = 0
    notifications: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    correlated: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    """Residents' complaints attached to alerts since the start: outage | unexplained."""


def frozen(mapping: Mapping[str, V]) -> Mapping[str, V]:
    """A read-only copy: snapshots may share it, since nobody can change it."""
    return MappingProxyType(dict(mapping))


def take(
    taken_at: float,
    villages: Mapping[str, str],
    shown: Mapping[str, ServiceState],
    recorded: Mapping[str, ServiceState],
    alerts: Iterable[OpenAlert],
    flapping: int,
    silences_active: int,
    evaluations: int,
    errors: int,
    notifications: Mapping[str, int],
    correlated: Mapping[str, int] | None = None,
    views: tuple[AlertView, ...] | None = None,
) -> AlertSnapshot:
    """villages, shown and recorded are frozen() copies, kept from one snapshot to the next
    while they do not change: copying 25,000 villages three times a tick was most of an idle
    tick at 50,000 devices (issue 10). views, when given, are alerts' views already (the
    previous snapshot's, shared while no open alert changed)."""
    if views is None:
        views = tuple(AlertView.of(a) for a in alerts)
    return AlertSnapshot(
        taken_at,
        villages,
        shown,
        recorded,
        views,
        flapping,
        silences_active,
        evaluations,
        errors,
        MappingProxyType(dict(notifications)),
        MappingProxyType(dict(correlated or {})),
    )
