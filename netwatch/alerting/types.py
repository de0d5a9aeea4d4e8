"""The contract between the alert engine and the notifiers (Alertmanager's alert model)."""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    CRITICAL = "critical"  # village Wi-Fi down, upstream (root cause) down
    WARNING = "warning"  # degraded, flapping


class Event(enum.StrEnum):
    FIRING = "firing"  # first notification of an alert
    RESOLVED = "resolved"
    REMINDER = "reminder"  # re-notify while still firing and unacknowledged
    ESCALATION = "escalation"  # unacknowledged too long: goes to the second contact list
    FLAPPING = "flapping"  # sent once when an alert flaps, instead of per change
    UPDATE = "update"  # the diagnosis (cause) of a notified alert changed


def fingerprint(labels: dict[str, str]) -> str:
    """Stable id of a label set (sorted JSON, SHA-256, 16 hex digits)."""
    blob = json.dumps(labels, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: a label set with start/end, as Alertmanager's.

    labels always hold alertname and severity; village alerts add village, village_name,
    district, district_name; root-cause alerts add device (the broken parent).
    """

    labels: dict[str, str]
    starts_at: float  # unix seconds
    ends_at: float | None = None  # set once resolved
    cause: str | None = None  # suspected cause, structured text key + args rendered later
    down_devices: tuple[str, ...] = ()  # device names found down
    affected_villages: tuple[str, ...] = ()  # village codes behind a broken parent
    path_break: str | None = None  # last hop that answered on the way to the village
    acknowledged_by: str | None = None
    complaints: int = 0  # residents' complaints attached to it (correlation.py)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def name(self) -> str:
        return self.labels["alertname"]

    @property
    def severity(self) -> Severity:
        return Severity(self.labels["severity"])


@dataclass(frozen=True, slots=True)
class Notification:
    """What the engine asks to be sent; id is the idempotency key (never sent twice)."""

    id: str
    event: Event
    alert: Alert
    created_at: float
    escalation_level: int = 0  # 0 = first contact list, 1 = second
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def closes(self) -> bool:
        """Whether n ends the alert (a resolve, or flapping noticed on a resolve)."""
        return self.event is Event.RESOLVED or self.alert.ends_at is not None
