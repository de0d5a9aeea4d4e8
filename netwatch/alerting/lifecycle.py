"""Alert lifecycle: intents → open alerts (fire, update, resolve), flapping ends and timers.

Every notification goes through notify.NotifyStage; every row change through the store.
"""

from __future__ import annotations

from netwatch.alerting.flapping import Flapping
from netwatch.alerting.kinds import Intent
from netwatch.alerting.notify import NotifyStage
from netwatch.alerting.records import OpenAlert
from netwatch.alerting.rules import Topology
from netwatch.alerting.seams import EngineStore
from netwatch.alerting.tracing import Tracing
from netwatch.alerting.types import Event
from netwatch.core.model import AlertingSettings


class Lifecycle:
    def __init__(
        self,
        settings: AlertingSettings,
        store: EngineStore,
        notify: NotifyStage,
        flapping: Flapping,
        tracing: Tracing,
    ) -> None:
        self.settings = settings
        self.store = store
        self.notify = notify
        self.flapping = flapping
        self.tracing = tracing
        self.open: dict[str, OpenAlert] = {}  # fingerprint → firing alert
        self.wanted_since: dict[str, float] = {}  # held-for intents: fingerprint → first wanted
        self.version = 0  # changes whenever an alert opens or closes (the snapshot's views)
        self.touched: set[str] = set()  # alerts opened or changed since the engine took this

    def load(self) -> None:
        self.open = {a.fingerprint: a for a in self.store.open_alerts()}
        self.version += 1

    def idle(self, intent: Intent) -> bool:
        """Whether reconcile(intent) would change nothing: not wanted, no alert of it open and
        no hold of it begun (the steady state of the cause kinds' intents: one per watched
        village and AP at every tick)."""
        fp = intent.fingerprint
        return (
            not intent.want
            and fp not in self.open
            and (intent.hold_for is None or fp not in self.wanted_since)
        )

    def reconcile(self, intent: Intent, topology: Topology, now: float) -> None:
        """Fire, update or resolve the alert that intent names."""
        fp = intent.fingerprint
        cur = self.open.get(fp)
        if intent.hold_for is not None:
            # A warning must hold for degraded_for: a lossy parent shows up in that time too.
            if not intent.want:
                self.wanted_since.pop(fp, None)
            elif cur is None:
                first = self.wanted_since.setdefault(fp, now)
                if now - first < intent.hold_for:
                    return
        if intent.want and cur is None:
            ready, path = self.tracing.path_for(intent.trace_target, now)
            if ready:  # else the path break is worth a few seconds' wait
                self._fire(intent, topology, now, path)
        elif intent.want and cur is not None:
            v = intent.verdict
            if v.root_cause is not None and cur.notified_at is not None and cur.cause:
                return  # notified before its parent broke: it keeps its course (and cause)
            if v.cause != cur.cause or v.down_devices != cur.down_devices:
                before = cur.cause
                cur.cause, cur.down_devices = v.cause, v.down_devices
                self.touched.add(fp)
                self.store.update_cause(cur)
                if v.cause != before and cur.notified_at is not None:
                    # Receivers were told another cause: the diagnosis never changes silently.
                    extra = {"previous_cause": before or ""}
                    self.notify.send(cur, Event.UPDATE, now, extra=extra)
        elif not intent.want and cur is not None and intent.may_resolve:
            self._resolve(cur, now)

    def _fire(self, intent: Intent, topology: Topology, now: float, path: str | None) -> None:
        alert = OpenAlert(
            id=0,
            labels=dict(intent.labels),
            starts_at=now,
            cause=intent.verdict.cause,
            down_devices=intent.verdict.down_devices,
            affected_villages=intent.affected,
            path_break=path,
            complaints=intent.complaints,
        )
        alert.id = self.store.insert_alert(alert)
        if self.flapping.record_change(alert.fingerprint, alert.id, now):
            self.notify.send(alert, Event.FLAPPING, now)
        else:
            self.notify.offer(alert, topology, now)
        self.open[alert.fingerprint] = alert
        self.touched.add(alert.fingerprint)
        self.version += 1

    def _resolve(self, alert: OpenAlert, now: float) -> None:
        fp = alert.fingerprint
        self.store.resolve_alert(alert.id, now)
        del self.open[fp]
        self.version += 1
        self.flapping.record_change(fp, alert.id, now)
        # Every notified alert ends with a resolved (marked when it flaps); one held by the
        # flapping muter was never announced, so its end is not either.
        if alert.notified_at is not None:
            self.notify.send(alert, Event.RESOLVED, now, ends_at=now)

    def drop(self, fp: str, now: float) -> OpenAlert | None:
        """Close an open alert without a notification (its subject left this inventory)."""
        alert = self.open.pop(fp, None)
        self.version += 1
        self.wanted_since.pop(fp, None)
        if alert is not None:
            self.store.resolve_alert(alert.id, now)
        self.flapping.forget(fp)
        return alert

    def settle_flapping(self, fp: str, topology: Topology, now: float) -> None:
        """End a quiet flapping episode: an outage held meanwhile is announced now."""
        if not self.flapping.settle(fp, now):
            return
        cur = self.open.get(fp)
        if cur is not None and cur.notified_at is None:
            self.notify.offer(cur, topology, now)

    def timers(self, fp: str, topology: Topology, now: float) -> None:
        """A held FIRING that may go now; an inhibition's mark; escalation; reminders."""
        a = self.open.get(fp)
        if a is None:
            return
        if a.notified_at is None:
            self.notify.offer(a, topology, now)
            return
        if self.notify.inhibited(a, topology, now) or fp in self.flapping or a.acknowledged_by:
            return
        s = self.settings
        last = a.last_notified_at or a.notified_at
        if (
            s.escalate_after > 0
            and a.escalation_level == 0
            and now - a.notified_at >= s.escalate_after
        ):
            self.notify.send(a, Event.ESCALATION, now)
        elif s.renotify_interval > 0 and now - last >= s.renotify_interval:
            self.notify.send(a, Event.REMINDER, now)
