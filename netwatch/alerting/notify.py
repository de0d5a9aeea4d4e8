"""Notify and mark: the one path from an alert to a notification in the outbox.

A notification is handed to the sink (Outbox.enqueue: a row per receiver, written in the
evaluation's transaction) and the alert's marks (notified, reminded, escalated, held by) are
saved in the same transaction: after kill -9 both are there or neither.
"""

from __future__ import annotations

from collections import Counter

from netwatch.alerting.flapping import Flapping
from netwatch.alerting.muting import InhibitMuter, MuteStage, Subject, is_inhibited
from netwatch.alerting.records import OpenAlert
from netwatch.alerting.rules import Topology
from netwatch.alerting.seams import EngineStore, Sink
from netwatch.alerting.types import Event, Notification


class NotifyStage:
    def __init__(
        self,
        sink: Sink,
        store: EngineStore,
        mutes: MuteStage,
        flapping: Flapping,
        sent: Counter[str],
        inhibit: InhibitMuter | None = None,
    ) -> None:
        self.sink = sink
        self.inhibit = inhibit  # also holds notified alerts (the other muters: FIRING only)
        self.store = store
        self.mutes = mutes
        self.flapping = flapping
        self.sent = sent  # notifications by event (the engine's counters)
        # Alerts whose marks changed since the engine last took this (its timer index).
        self.marked: set[str] = set()
        self.inhibit_targets = inhibit.targets if inhibit is not None else frozenset()

    def send(
        self,
        alert: OpenAlert,
        event: Event,
        now: float,
        ends_at: float | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        """Enqueue one notification of alert and, unless it ends the alert, save its marks."""
        closing = event is Event.RESOLVED or ends_at is not None
        level = 1 if event is Event.ESCALATION else alert.escalation_level
        extra = dict(extra or {})
        flapping = alert.fingerprint in self.flapping
        if event is Event.FLAPPING or (event is Event.RESOLVED and flapping):
            extra["changes"] = str(self.flapping.count(alert.fingerprint))
        if event is Event.RESOLVED and flapping:
            extra["flapping"] = "true"  # the end of an alert that flaps: said so
        n = Notification(
            id=f"{alert.fingerprint}-{alert.id}-{event}-{round(now * 1000)}",
            event=event,
            alert=alert.snapshot(ends_at),
            created_at=now,
            escalation_level=level,
            extra=extra,
        )
        self.sink(n)
        self.sent[str(event)] += 1
        self.marked.add(alert.fingerprint)
        if closing:
            return
        alert.escalation_level = level
        alert.last_notified_at = now
        if event in (Event.FIRING, Event.FLAPPING):
            alert.notified_at = now
            alert.suppressed_by = None
        self.store.save_marks(alert)

    def offer(self, alert: OpenAlert, topology: Topology, now: float) -> None:
        """Send FIRING now unless a muter holds it; a held alert records why."""
        reason = self.mutes.reason(alert, topology, now)
        if reason is None:
            self.send(alert, Event.FIRING, now)
        elif reason != alert.suppressed_by or alert.notified_at is not None:
            self.marked.add(alert.fingerprint)
            alert.suppressed_by = reason
            alert.notified_at = None  # sent when the hold is lifted
            self.store.save_marks(alert)

    def inhibited(self, alert: OpenAlert, topology: Topology, now: float) -> bool:
        """Whether a notified alert is inhibited now (its reminders and escalation wait); the
        mark follows, and a lifted inhibition shows it again without a second FIRING."""
        why = None
        if self.inhibit is not None and alert.labels.get("alertname") in self.inhibit.targets:
            why = self.inhibit.mutes(Subject.of(alert, topology), now)
        if why != alert.suppressed_by and (why is not None or is_inhibited(alert.suppressed_by)):
            self.marked.add(alert.fingerprint)
            alert.suppressed_by = why
            self.store.save_marks(alert)
        return why is not None
