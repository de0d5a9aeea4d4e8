"""What the engine keeps per open alert, flapping episode and silence (rows of store.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from netwatch.alerting.types import Alert, fingerprint

# Edits of any open alert's fields, process-wide: a snapshot whose open alerts and this count
# are what they were shares the previous one's views (issue 10: 25,000 open alerts in a mass
# outage were copied and their fingerprints hashed at every tick). Another engine's edits only
# cost a rebuild.
EDITS = [0]
_CACHES = frozenset({"_fingerprint", "view"})


@dataclass(slots=True)
class OpenAlert:
    """A firing alert and its notification marks; the engine's only mutable alert record."""

    id: int
    labels: dict[str, str]
    starts_at: float
    cause: str | None = None
    down_devices: tuple[str, ...] = ()
    affected_villages: tuple[str, ...] = ()
    path_break: str | None = None
    suppressed_by: str | None = None  # the muter's reason while FIRING is held back
    notified_at: float | None = None  # first FIRING/FLAPPING notification
    last_notified_at: float | None = None
    escalation_level: int = 0
    acknowledged_by: str | None = None
    complaints: int = 0  # residents' complaints attached (correlation.py; not an alerts column)
    # Caches, dropped by __setattr__ when a field they derive from changes (never in-place:
    # nobody edits labels in place).
    _fingerprint: str | None = field(default=None, init=False, repr=False, compare=False)
    view: object = field(default=None, init=False, repr=False, compare=False)  # snapshot's

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name not in _CACHES:
            object.__setattr__(self, "view", None)
            if name == "labels":
                object.__setattr__(self, "_fingerprint", None)
            EDITS[0] += 1

    @property
    def fingerprint(self) -> str:
        """fingerprint(labels), computed once per label set (JSON + SHA-256)."""
        fp = self._fingerprint
        if fp is None:
            fp = fingerprint(self.labels)
            object.__setattr__(self, "_fingerprint", fp)
        return fp

    def snapshot(self, ends_at: float | None = None) -> Alert:
        return Alert(
            labels=dict(self.labels),
            starts_at=self.starts_at,
            ends_at=ends_at,
            cause=self.cause,
            down_devices=self.down_devices,
            affected_villages=self.affected_villages,
            path_break=self.path_break,
            acknowledged_by=self.acknowledged_by,
            complaints=self.complaints,
        )


@dataclass(slots=True)
class Flap:
    since: float
    last_change: float
    alert_id: int  # last alert of the fingerprint when flapping began


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    matchers: dict[str, str]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.matchers.items())


@dataclass(frozen=True, slots=True)
class StateInterval:
    """One row of the village state history."""

    village: str
    state: str
    since: float
    until: float | None  # None while current
