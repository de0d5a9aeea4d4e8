"""The mute stage: why an alert's FIRING notification must wait now (Alertmanager's Muter).

Each muter answers for one kind of hold with a reason (`upstream:pop-1`, `silence:3`) or None;
the stage asks them in order and the first reason wins. Held alerts keep their state, history
and resolution; the notification goes out when no muter holds it any more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from netwatch.alerting.flapping import Flapping
from netwatch.alerting.kinds import DEGRADED_ALERTS
from netwatch.alerting.maintenance import Maintenance
from netwatch.alerting.records import OpenAlert, Silence
from netwatch.alerting.rules import Topology
from netwatch.alerting.tracker import Tracker
from netwatch.core.model import AlertingSettings, Device


@dataclass(frozen=True, slots=True)
class Subject:
    """What muters look at: an alert's labels and the part of the network it is about."""

    labels: Mapping[str, str]
    fingerprint: str
    village: str | None
    district: str | None
    devices: tuple[Device, ...]
    parents: tuple[str, ...]  # parents outside the village (or the device's own), nearest first

    @classmethod
    def of(cls, alert: OpenAlert, topology: Topology) -> Subject:
        labels = alert.labels
        inv = topology.inventory
        code, name = labels.get("village"), labels.get("device")
        if name is not None and name in inv.devices:
            dev = inv.devices[name]
            parents = topology.ancestors.get(name, ())
            return cls(labels, alert.fingerprint, dev.village, dev.district, (dev,), parents)
        if code is not None and code in inv.villages:
            v = inv.villages[code]
            devices = tuple(inv.village_devices(code))
            parents = tuple(topology.outside_ancestors(code))
            return cls(labels, alert.fingerprint, code, v.district, devices, parents)
        return cls(labels, alert.fingerprint, code, labels.get("district"), (), ())


class Muter(Protocol):
    def mutes(self, subject: Subject, now: float) -> str | None:
        """The reason the subject's notification is held now, or None."""
        ...


INHIBITED = "inhibited:"  # suppressed_by of an inhibited alert: `inhibited:<source fingerprint>`


def is_inhibited(suppressed_by: str | None) -> bool:
    return suppressed_by is not None and suppressed_by.startswith(INHIBITED)


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """Alertmanager's inhibit_rule: an open `source` alert (its cause starting with
    `source_cause`) inhibits a `target` alert whose `equal` labels are the same."""

    source: str
    target: str
    equal: tuple[str, ...]
    source_cause: str = ""


class InhibitMuter:
    """A target alert says again what an open source alert already says: it is inhibited.

    Unlike the other muters it also holds an alert already notified (its reminders and
    escalation wait, lifecycle.timers); when the source ends it is shown again, unannounced."""

    def __init__(
        self, rules: Sequence[InhibitRule], open_alerts: Callable[[], Iterable[OpenAlert]]
    ) -> None:
        self.rules = tuple(rules)
        self.targets = frozenset(r.target for r in self.rules)
        self.open_alerts = open_alerts  # the lifecycle's open alerts (replaced on reload)

    def mutes(self, subject: Subject, now: float) -> str | None:
        name = subject.labels.get("alertname")
        for rule in self.rules:
            if name != rule.target or any(k not in subject.labels for k in rule.equal):
                continue
            for a in self.open_alerts():
                if (
                    a.labels.get("alertname") == rule.source
                    and (a.cause or "").startswith(rule.source_cause)
                    and all(a.labels.get(k) == subject.labels[k] for k in rule.equal)
                ):
                    return f"{INHIBITED}{a.fingerprint}"
        return None


class UpstreamMuter:
    """A parent is down, or came back less than dependency_grace ago: its alert speaks."""

    def __init__(self, tracker: Tracker, settings: AlertingSettings) -> None:
        self.tracker = tracker
        self.settings = settings

    def mutes(self, subject: Subject, now: float) -> str | None:
        for p in subject.parents:
            t = self.tracker.tracks.get(p)
            if t is None:
                continue
            if t.confirmed_up is False:
                return f"upstream:{p}"
            if t.recovered_at is not None and now - t.recovered_at < self.settings.dependency_grace:
                return f"upstream:{p}"
        return None


class UpstreamDegradedMuter:
    """Loss on a parent's link shows on everything behind it: one warning, the parent's."""

    def __init__(self, settings: AlertingSettings) -> None:
        self.settings = settings
        self.lossy_seen: dict[str, float] = {}  # parent device → last evaluation it was lossy

    def note_lossy(self, device: str, now: float) -> None:
        self.lossy_seen[device] = now

    def mutes(self, subject: Subject, now: float) -> str | None:
        if subject.labels.get("alertname") not in DEGRADED_ALERTS:
            return None
        for p in subject.parents:
            seen = self.lossy_seen.get(p)
            if seen is not None and now - seen < self.settings.dependency_grace:
                return f"upstream-degraded:{p}"
        return None


class MaintenanceMuter:
    """A maintenance window covers the village, district or a device (config)."""

    def __init__(self, maintenance: Maintenance) -> None:
        self.maintenance = maintenance  # replaced on reload

    def mutes(self, subject: Subject, now: float) -> str | None:
        window = self.maintenance.active(now, subject.village, subject.district, subject.devices)
        return None if window is None else f"maintenance:{window}"


class SilenceMuter:
    """A silence from the CLI matches the labels."""

    def __init__(self) -> None:
        self.silences: list[Silence] = []  # reloaded when another connection commits

    def mutes(self, subject: Subject, now: float) -> str | None:
        for s in self.silences:
            if s.active(now) and s.matches(subject.labels):
                return f"silence:{s.id}"
        return None

    def active(self, now: float) -> int:
        return sum(1 for s in self.silences if s.active(now))


class FlappingMuter:
    """The alert flaps: one `flapping` notification was sent, the next when it settles."""

    def __init__(self, flapping: Flapping) -> None:
        self.flapping = flapping

    def mutes(self, subject: Subject, now: float) -> str | None:
        return "flapping" if subject.fingerprint in self.flapping else None


class MuteStage:
    """Muters in order; the first reason wins."""

    def __init__(self, muters: Sequence[Muter]) -> None:
        self.muters = tuple(muters)

    def reason(self, alert: OpenAlert, topology: Topology, now: float) -> str | None:
        subject = Subject.of(alert, topology)
        for m in self.muters:
            why = m.mutes(subject, now)
            if why is not None:
                return why
        return None
