"""The alert engine: village verdicts → alerts → notifications, durable in one SQLite file.

Driven by rounds (state listener: hold-downs and re-check requests) and by evaluate(now), called
every tick. Each evaluation is one transaction: an alert-state change and the notifications it
causes commit together, so a killed process neither loses nor repeats one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netwatch.alerting import silences as silences_mod
from netwatch.alerting import store
from netwatch.alerting.maintenance import Maintenance
from netwatch.alerting.outbox import Outbox
from netwatch.alerting.rules import (
    OUTAGE_STATES,
    ServiceState,
    Topology,
    Verdict,
    lossy,
    upstream_verdict,
    village_verdict,
)
from netwatch.alerting.tracker import Tracker
from netwatch.alerting.types import Alert, Event, Notification, Severity, fingerprint
from netwatch.core.model import AlertingSettings, Device, Inventory, Role
from netwatch.core.plugins import Health, Observation
from netwatch.core.state import DeviceState

log = logging.getLogger("netwatch.alerting")

VILLAGE_DOWN = "VillageWifiDown"
VILLAGE_DEGRADED = "VillageWifiDegraded"
UPSTREAM_DOWN = "UpstreamDown"
UPSTREAM_DEGRADED = "UpstreamDegraded"
DEGRADED_ALERTS = frozenset({VILLAGE_DEGRADED, UPSTREAM_DEGRADED})
HOLD_FACTOR = 0.5  # × degraded thresholds: a parent this lossy holds its children's warnings
RESOLVE_FACTOR = 0.75  # × degraded thresholds: a degraded warning resolves below this

Sink = Callable[[Notification], None]
PollRequest = Callable[[str, str, str], None]
Tracer = Callable[[str], str | None]  # address → last hop that answered (blocking; run in a thread)


@dataclass(slots=True)
class OpenAlert:
    id: int
    labels: dict[str, str]
    starts_at: float
    cause: str | None = None
    down_devices: tuple[str, ...] = ()
    affected_villages: tuple[str, ...] = ()
    path_break: str | None = None
    suppressed_by: str | None = None
    notified_at: float | None = None
    last_notified_at: float | None = None
    escalation_level: int = 0
    acknowledged_by: str | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

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
        )


@dataclass(slots=True)
class Flap:
    since: float
    last_change: float
    alert_id: int


@dataclass(slots=True)
class Stats:
    evaluations: int = 0
    errors: int = 0
    notifications: Counter[str] = field(default_factory=Counter)


def _alert_from_row(r: sqlite3.Row) -> OpenAlert:
    return OpenAlert(
        id=r["id"],
        labels=json.loads(r["labels"]),
        starts_at=r["starts_at"],
        cause=r["cause"],
        down_devices=tuple(json.loads(r["down_devices"])),
        affected_villages=tuple(json.loads(r["affected_villages"])),
        path_break=r["path_break"],
        suppressed_by=r["suppressed_by"],
        notified_at=r["notified_at"],
        last_notified_at=r["last_notified_at"],
        escalation_level=r["escalation_level"],
        acknowledged_by=r["acknowledged_by"],
    )


class Engine:
    """Hold-downs, flapping, dependency suppression, re-notify, escalation, acknowledgement."""

    def __init__(
        self,
        inventory: Inventory,
        settings: AlertingSettings | None = None,
        conn: sqlite3.Connection | None = None,
        *,
        request_poll: PollRequest | None = None,
        sink: Sink | None = None,
        outbox: Outbox | None = None,
        tracer: Tracer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings or inventory.settings.alerting
        self.conn = conn if conn is not None else store.connect(self.settings.db_path)
        if sink is None:
            if outbox is None:
                raise ValueError("the alert engine needs an outbox or a sink")
            # The outbox rows are written inside the engine's open transaction.
            sink = lambda n: outbox.enqueue(self.conn, n) and None  # noqa: E731
        self.sink: Sink = sink
        self.outbox = outbox
        self.request_poll = request_poll
        self.tracer = tracer
        self.clock = clock
        self.tracker = Tracker(self.settings)
        self.maintenance = Maintenance(self.settings.maintenance)
        self.stats = Stats()
        self.open: dict[str, OpenAlert] = {}
        self.flaps: dict[str, Flap] = {}
        self.changes: dict[str, deque[float]] = {}
        self.history: dict[str, ServiceState] = {}  # village → last recorded state
        self.display: dict[str, ServiceState] = {}  # village → state shown (maintenance overlay)
        self.silences: list[silences_mod.Silence] = []
        self.trace_requested: dict[str, float] = {}
        self.trace_queue: deque[str] = deque()
        self.paths: dict[str, tuple[float, str | None]] = {}
        self._last_check_request: dict[str, float] = {}
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self.lossy_seen: dict[str, float] = {}  # parent device → last evaluation it was lossy
        self.degraded_since: dict[str, float] = {}  # degraded alert fingerprint → first seen
        self._data_version = -1
        self.set_inventory(inventory)
        self._load(self.clock())

    # -- inventory and persistence -------------------------------------------------------

    def set_inventory(self, inventory: Inventory) -> None:
        """Adopt a (reloaded) inventory; device verdicts of devices that stay are kept."""
        self.inventory = inventory
        self.topology = Topology(inventory)
        for name in list(self.tracker.tracks):
            if name not in inventory.devices:
                del self.tracker.tracks[name]
        for name in inventory.devices:
            self.tracker.track(name)

    def _load(self, now: float) -> None:
        c = self.conn
        self.open = {}
        for r in c.execute("SELECT * FROM alerts WHERE state = 'firing'"):
            a = _alert_from_row(r)
            self.open[a.fingerprint] = a
        self.flaps = {
            r["fingerprint"]: Flap(r["since"], r["last_change"], r["alert_id"])
            for r in c.execute("SELECT * FROM flaps")
        }
        self.changes = {}
        horizon = now - self.settings.flap_window
        rows = c.execute(
            "SELECT fingerprint, starts_at, ends_at FROM alerts"
            " WHERE starts_at >= ? OR ends_at >= ? ORDER BY starts_at",
            (horizon, horizon),
        )
        for r in rows:
            times = [t for t in (r["starts_at"], r["ends_at"]) if t is not None and t >= horizon]
            self.changes.setdefault(r["fingerprint"], deque()).extend(times)
        self.history = {
            r["village"]: ServiceState(r["state"])
            for r in c.execute("SELECT village, state FROM village_states WHERE until IS NULL")
        }
        self.silences = silences_mod.load(c, now)
        self._data_version = store.data_version(c)

    def _refresh_external(self, now: float) -> None:
        """Pick up silences and acknowledgements written by the CLI (another connection)."""
        version = store.data_version(self.conn)
        if version == self._data_version:
            return
        self._data_version = version
        self.silences = silences_mod.load(self.conn, now)
        for a in self.open.values():
            r = self.conn.execute(
                "SELECT acknowledged_by FROM alerts WHERE id = ?", (a.id,)
            ).fetchone()
            if r is not None:
                a.acknowledged_by = r["acknowledged_by"]

    # -- rounds ----------------------------------------------------------------------------

    def on_observation(self, device_state: DeviceState, observation: Observation) -> None:
        """State listener: apply a ping round to the hold-downs and ask for re-checks."""
        name = device_state.device.name
        if name not in self.inventory.devices:
            return
        result = getattr(observation, "result", None)
        if result is None or not hasattr(result, "received"):
            track = self.tracker.tracks.get(name)
            if track is not None:  # another collector's poll (SNMP): radios of an AP
                verdicts = device_state.verdicts()
                track.radio_down = any(v.health is Health.NOT_SERVING for v in verdicts)
            return
        try:
            self.observe(name, observation.time, result.sent, result.received, result.rtt_avg)
        except Exception:
            self.stats.errors += 1
            log.exception("alerting: cannot apply a round of device %s", name)

    def observe(
        self, name: str, at: float, sent: int, received: int, rtt_avg: float | None = None
    ) -> None:
        """Apply one round of device `name` (the listener's core; tests call it directly)."""
        changed, reasons = self.tracker.observe(name, at, sent, received, rtt_avg)
        for reason in reasons:
            self._poll(name, reason, at)
        t = self.tracker.tracks[name]
        if t.fail_run == 1:
            # Ask the parents now, so a cut upstream is known before its villages would fire.
            for parent in self.topology.ancestors.get(name, ()):
                pt = self.tracker.tracks.get(parent)
                if pt is not None and not pt.failing:
                    self._poll(parent, "upstream-check", at)
            if self._traceable(name):
                self._request_trace(name, at)
        if changed and t.confirmed_up:
            # A parent is back: re-check what hangs below it rather than wait a whole interval.
            for child in self.topology.descendants.get(name, ()):
                ct = self.tracker.tracks.get(child)
                if ct is not None and ct.confirmed_up is not True:
                    self._poll(child, "upstream-restored", at)

    def _poll(self, device: str, reason: str, at: float) -> None:
        if self.request_poll is None:
            return
        key = f"{device}\0{reason}"
        last = self._last_check_request.get(key)
        if reason == "upstream-check" and last is not None and 0 <= at - last < 2.0:
            return  # twenty villages failing at once ask their parent once
        self._last_check_request[key] = at
        try:
            self.request_poll(device, "ping", reason)
        except Exception:
            self.stats.errors += 1
            log.exception("alerting: re-check request for %s failed", device)

    def _traceable(self, name: str) -> bool:
        if self.tracer is None or not self.settings.traceroute:
            return False
        dev = self.inventory.devices[name]
        if not (dev.role is Role.ROUTER or name in self.topology.behind or dev.village is None):
            return False
        # Behind a failing parent the parent's own trace says where the path breaks.
        return not any(
            (t := self.tracker.tracks.get(a)) is not None and t.failing
            for a in self.topology.ancestors.get(name, ())
        )

    def _request_trace(self, name: str, at: float) -> None:
        self.trace_requested[name] = self.clock()
        self.paths.pop(name, None)
        self.trace_queue.append(name)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (tests driving the engine by hand): run() starts it later
        self._start_traces(loop)

    def set_path(self, device: str, last_hop: str | None, at: float | None = None) -> None:
        """Record a traceroute result toward device (last hop that answered)."""
        self.paths[device] = (self.clock() if at is None else at, last_hop)

    # -- evaluation ------------------------------------------------------------------------

    def evaluate(self, now: float | None = None) -> None:
        """Evaluate every village and parent, then timers; one transaction."""
        now = self.clock() if now is None else now
        self.stats.evaluations += 1
        self._refresh_external(now)
        self._dirty = False
        sent_before = sum(self.stats.notifications.values())
        try:
            with store.transaction(self.conn):
                for name in self.topology.upstream:
                    self._guarded(f"device {name}", self._eval_upstream, name, now)
                for code in self.inventory.villages:
                    self._guarded(f"village {code}", self._eval_village, code, now)
                for fp in list(self.flaps):
                    self._guarded(f"flapping {fp}", self._flap_end, fp, now)
                for fp in list(self.open):
                    self._guarded(f"alert {fp}", self._timers, fp, now)
        except Exception:
            self.stats.errors += 1
            self._load(now)  # memory must not run ahead of what was committed
            raise
        if self._dirty:
            self._load(now)
        if self.outbox is not None and sum(self.stats.notifications.values()) != sent_before:
            self.outbox.wake()  # committed: deliver now rather than at the next outbox poll

    def _guarded(self, what: str, fn: Callable[..., None], *args: Any) -> None:
        self.conn.execute("SAVEPOINT item")
        try:
            fn(*args)
        except Exception:
            self.conn.execute("ROLLBACK TO item")
            self.conn.execute("RELEASE item")
            self.stats.errors += 1
            self._dirty = True
            log.exception("alerting: evaluating %s failed; the others go on", what)
            return
        self.conn.execute("RELEASE item")

    def _village_labels(self, code: str) -> dict[str, str]:
        v = self.inventory.villages[code]
        d = self.inventory.districts.get(v.district)
        return {
            "village": code,
            "village_name": v.name,
            "district": v.district,
            "district_name": d.name if d else v.district,
        }

    def _eval_village(self, code: str, now: float) -> None:
        verdict = village_verdict(
            code, self.inventory, self.topology, self.tracker.tracks, self.settings, now
        )
        if verdict.pending:
            return  # a parent's verdict is due: decide nothing yet
        village = self.inventory.villages[code]
        devices = self.inventory.village_devices(code)
        window = self.maintenance.active(now, code, village.district, devices)
        if verdict.state is not ServiceState.UNKNOWN and verdict.state != self.history.get(code):
            self.conn.execute(
                "UPDATE village_states SET until = ? WHERE village = ? AND until IS NULL",
                (now, code),
            )
            self.conn.execute(
                "INSERT INTO village_states(village, state, since, until, maintenance)"
                " VALUES (?, ?, ?, NULL, ?)",
                (code, str(verdict.state), now, int(window is not None)),
            )
            self.history[code] = verdict.state
        self.display[code] = ServiceState.MAINTENANCE if window else verdict.state
        base = self._village_labels(code)
        routers = [d.name for d in devices if d.role is Role.ROUTER]
        trace_target = routers[0] if routers and verdict.cause == "router_down" else None
        settled = verdict.state is not ServiceState.UNKNOWN
        self._reconcile(
            VILLAGE_DOWN,
            Severity.CRITICAL,
            base,
            verdict,
            want=verdict.state in OUTAGE_STATES,
            may_resolve=settled and verdict.state not in OUTAGE_STATES,
            trace_target=trace_target,
            now=now,
        )
        d = verdict.details
        calm = d.get("loss_ratio", 0.0) <= RESOLVE_FACTOR * self.settings.degraded_loss_ratio and (
            d.get("rtt_seconds", 0.0) <= RESOLVE_FACTOR * self.settings.degraded_rtt
        )
        self._reconcile(
            VILLAGE_DEGRADED,
            Severity.WARNING,
            base,
            verdict,
            want=verdict.state is ServiceState.DEGRADED,
            may_resolve=settled and verdict.state is not ServiceState.DEGRADED and calm,
            trace_target=None,
            now=now,
        )

    def _eval_upstream(self, name: str, now: float) -> None:
        verdict = upstream_verdict(name, self.topology, self.tracker.tracks, self.settings, now)
        if verdict.pending:
            return
        dev = self.inventory.devices[name]
        d = self.inventory.districts.get(dev.district)
        base = {"device": name, "district": dev.district}
        base["district_name"] = d.name if d else dev.district
        affected = tuple(sorted(self.topology.behind.get(name, ())))
        self._reconcile(
            UPSTREAM_DOWN,
            Severity.CRITICAL,
            base,
            verdict,
            want=verdict.state in OUTAGE_STATES,
            may_resolve=verdict.state in (ServiceState.UP, ServiceState.DEGRADED),
            trace_target=name,
            now=now,
            affected=affected,
        )
        track = self.tracker.tracks.get(name)
        # Hysteresis: half the threshold on a parent explains its children's loss, and its
        # own warning ends only below three quarters of it (a window near the line flaps).
        if track is not None and lossy(track, self.settings, HOLD_FACTOR):
            self.lossy_seen[name] = now
        settled = track is not None and not lossy(track, self.settings, RESOLVE_FACTOR)
        self._reconcile(
            UPSTREAM_DEGRADED,
            Severity.WARNING,
            base,
            verdict,
            want=verdict.state is ServiceState.DEGRADED,
            may_resolve=verdict.state is not ServiceState.DEGRADED and settled,
            trace_target=None,
            now=now,
            affected=affected,
        )

    def _reconcile(
        self,
        alertname: str,
        severity: Severity,
        base: dict[str, str],
        verdict: Verdict,
        *,
        want: bool,
        may_resolve: bool,
        trace_target: str | None,
        now: float,
        affected: tuple[str, ...] = (),
    ) -> None:
        labels = {"alertname": alertname, "severity": str(severity), **base}
        fp = fingerprint(labels)
        cur = self.open.get(fp)
        if alertname in DEGRADED_ALERTS:
            # A warning must hold for degraded_for: a lossy parent shows up in that time too.
            if not want:
                self.degraded_since.pop(fp, None)
            elif cur is None:
                first = self.degraded_since.setdefault(fp, now)
                if now - first < self.settings.degraded_for:
                    return
        if want and cur is None:
            path: str | None = None
            if trace_target is not None and trace_target in self.trace_requested:
                got = self.paths.get(trace_target)
                if got is not None:
                    path = got[1]
                elif now - self.trace_requested[trace_target] < self.settings.traceroute_wait:
                    return  # the path break is worth a few seconds' wait
            self._fire(labels, verdict, now, path, affected)
        elif want and cur is not None:
            if verdict.cause != cur.cause or verdict.down_devices != cur.down_devices:
                cur.cause, cur.down_devices = verdict.cause, verdict.down_devices
                self.conn.execute(
                    "UPDATE alerts SET cause = ?, down_devices = ? WHERE id = ?",
                    (cur.cause, json.dumps(cur.down_devices), cur.id),
                )
        elif not want and cur is not None and may_resolve:
            self._resolve(cur, now)

    # -- alert lifecycle -------------------------------------------------------------------

    def _scope(
        self, labels: dict[str, str]
    ) -> tuple[str | None, str | None, list[Device], list[str]]:
        """(village, district, devices, outside parents) an alert is about."""
        code = labels.get("village")
        name = labels.get("device")
        if name is not None and name in self.inventory.devices:
            dev = self.inventory.devices[name]
            return dev.village, dev.district, [dev], list(self.topology.ancestors.get(name, ()))
        if code is not None and code in self.inventory.villages:
            v = self.inventory.villages[code]
            return (
                code,
                v.district,
                self.inventory.village_devices(code),
                self.topology.outside_ancestors(code),
            )
        return code, labels.get("district"), [], []

    def _suppression(self, alert: OpenAlert, now: float) -> str | None:
        """Why the FIRING notification of alert must wait now, or None."""
        village, district, devices, parents = self._scope(alert.labels)
        for p in parents:
            t = self.tracker.tracks.get(p)
            if t is None:
                continue
            if t.confirmed_up is False:
                return f"upstream:{p}"
            if t.recovered_at is not None and now - t.recovered_at < self.settings.dependency_grace:
                return f"upstream:{p}"
        if alert.labels.get("alertname") in DEGRADED_ALERTS:
            # Loss on a parent's link shows on everything behind it: one warning, the parent's.
            for p in parents:
                seen = self.lossy_seen.get(p)
                if seen is not None and now - seen < self.settings.dependency_grace:
                    return f"upstream-degraded:{p}"
        window = self.maintenance.active(now, village, district, devices)
        if window is not None:
            return f"maintenance:{window}"
        for s in self.silences:
            if s.active(now) and s.matches(alert.labels):
                return f"silence:{s.id}"
        if alert.fingerprint in self.flaps:
            return "flapping"
        return None

    def _notify(
        self, alert: OpenAlert, event: Event, now: float, ends_at: float | None = None
    ) -> None:
        extra: dict[str, str] = {}
        if event is Event.FLAPPING:
            extra["changes"] = str(len(self.changes.get(alert.fingerprint, ())))
        n = Notification(
            id=f"{alert.fingerprint}-{alert.id}-{event}-{round(now * 1000)}",
            event=event,
            alert=alert.snapshot(ends_at),
            created_at=now,
            escalation_level=alert.escalation_level,
            extra=extra,
        )
        self.sink(n)
        self.stats.notifications[str(event)] += 1

    def _record_change(self, fp: str, alert_id: int, now: float) -> bool:
        """Count a fire/resolve; True when it makes the alert start flapping."""
        dq = self.changes.setdefault(fp, deque())
        dq.append(now)
        while dq and dq[0] < now - self.settings.flap_window:
            dq.popleft()
        flap = self.flaps.get(fp)
        if flap is not None:
            flap.last_change = now
            self.conn.execute("UPDATE flaps SET last_change = ? WHERE fingerprint = ?", (now, fp))
            return False
        if len(dq) >= self.settings.flap_threshold:
            self.flaps[fp] = Flap(now, now, alert_id)
            self.conn.execute(
                "INSERT OR REPLACE INTO flaps(fingerprint, since, last_change, alert_id)"
                " VALUES (?, ?, ?, ?)",
                (fp, now, now, alert_id),
            )
            return True
        return False

    def _fire(
        self,
        labels: dict[str, str],
        verdict: Verdict,
        now: float,
        path: str | None,
        affected: tuple[str, ...],
    ) -> None:
        alert = OpenAlert(
            id=0,
            labels=labels,
            starts_at=now,
            cause=verdict.cause,
            down_devices=verdict.down_devices,
            affected_villages=affected,
            path_break=path,
        )
        cur = self.conn.execute(
            "INSERT INTO alerts(fingerprint, alertname, labels, state, starts_at, cause,"
            " down_devices, affected_villages, path_break)"
            " VALUES (?, ?, ?, 'firing', ?, ?, ?, ?, ?)",
            (
                alert.fingerprint,
                labels["alertname"],
                json.dumps(labels, sort_keys=True),
                now,
                alert.cause,
                json.dumps(alert.down_devices),
                json.dumps(alert.affected_villages),
                path,
            ),
        )
        alert.id = int(cur.lastrowid or 0)
        started_flapping = self._record_change(alert.fingerprint, alert.id, now)
        if started_flapping:
            self._notify(alert, Event.FLAPPING, now)
            alert.notified_at = alert.last_notified_at = now
        else:
            alert.suppressed_by = self._suppression(alert, now)
            if alert.suppressed_by is None:
                self._notify(alert, Event.FIRING, now)
                alert.notified_at = alert.last_notified_at = now
        self._save_notify_state(alert)
        self.open[alert.fingerprint] = alert

    def _save_notify_state(self, a: OpenAlert) -> None:
        self.conn.execute(
            "UPDATE alerts SET suppressed_by = ?, notified_at = ?, last_notified_at = ?,"
            " escalation_level = ? WHERE id = ?",
            (a.suppressed_by, a.notified_at, a.last_notified_at, a.escalation_level, a.id),
        )

    def _resolve(self, alert: OpenAlert, now: float) -> None:
        self.conn.execute(
            "UPDATE alerts SET state = 'resolved', ends_at = ? WHERE id = ?", (now, alert.id)
        )
        del self.open[alert.fingerprint]
        started_flapping = self._record_change(alert.fingerprint, alert.id, now)
        if started_flapping:
            self._notify(alert, Event.FLAPPING, now, ends_at=now)
        elif alert.fingerprint in self.flaps:
            pass  # flapping: one notification when it settles
        elif alert.notified_at is not None:
            self._notify(alert, Event.RESOLVED, now, ends_at=now)

    def _flap_end(self, fp: str, now: float) -> None:
        flap = self.flaps[fp]
        if now - flap.last_change < self.settings.flap_quiet:
            return
        del self.flaps[fp]
        self.changes.pop(fp, None)
        self.conn.execute("DELETE FROM flaps WHERE fingerprint = ?", (fp,))
        cur = self.open.get(fp)
        if cur is not None:
            cur.suppressed_by = self._suppression(cur, now)
            if cur.suppressed_by is None:
                self._notify(cur, Event.FIRING, now)
                cur.notified_at = cur.last_notified_at = now
            else:
                cur.notified_at = None  # sent when the other hold is lifted
            self._save_notify_state(cur)
            return
        row = self.conn.execute(
            "SELECT * FROM alerts WHERE fingerprint = ? AND state = 'resolved'"
            " ORDER BY id DESC LIMIT 1",
            (fp,),
        ).fetchone()
        if row is not None:
            last = _alert_from_row(row)
            self._notify(last, Event.RESOLVED, now, ends_at=row["ends_at"])

    def _timers(self, fp: str, now: float) -> None:
        a = self.open.get(fp)
        if a is None:
            return
        s = self.settings
        if a.notified_at is None:
            reason = self._suppression(a, now)
            if reason is None:
                self._notify(a, Event.FIRING, now)
                a.notified_at = a.last_notified_at = now
                a.suppressed_by = None
                self._save_notify_state(a)
            elif reason != a.suppressed_by:
                a.suppressed_by = reason
                self._save_notify_state(a)
            return
        if fp in self.flaps or a.acknowledged_by:
            return
        last = a.last_notified_at or a.notified_at
        if (
            s.escalate_after > 0
            and a.escalation_level == 0
            and now - a.notified_at >= s.escalate_after
        ):
            a.escalation_level = 1
            a.last_notified_at = now
            self._notify(a, Event.ESCALATION, now)
            self._save_notify_state(a)
        elif s.renotify_interval > 0 and now - last >= s.renotify_interval:
            a.last_notified_at = now
            self._notify(a, Event.REMINDER, now)
            self._save_notify_state(a)

    # -- running ---------------------------------------------------------------------------

    def _start_traces(self, loop: asyncio.AbstractEventLoop) -> None:
        tracer = self.tracer
        if tracer is None:
            self.trace_queue.clear()
            return
        while self.trace_queue:
            name = self.trace_queue.popleft()
            dev = self.inventory.devices.get(name)
            track = self.tracker.tracks.get(name)
            if dev is None or track is None or not track.failing or not self._traceable(name):
                self.trace_requested.pop(name, None)
                continue  # answered again, or a parent is failing and traced instead
            if self._executor is None:
                # Own threads: a burst of traces (a district going dark) must not queue
                # behind the default executor's few workers, nor block other users of it.
                self._executor = concurrent.futures.ThreadPoolExecutor(
                    max_workers=16, thread_name_prefix="traceroute"
                )
            fut = loop.run_in_executor(self._executor, tracer, dev.address)

            def done(f: asyncio.Future[str | None], name: str = name) -> None:
                try:
                    self.set_path(name, f.result())
                except Exception as exc:
                    log.warning("alerting: traceroute toward %s failed: %s", name, exc)
                    self.set_path(name, None)

            fut.add_done_callback(done)

    async def run(self, stop: asyncio.Event) -> None:
        """Evaluate every tick until stop is set; errors are logged and counted, never fatal."""
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                self._start_traces(loop)
                try:
                    self.evaluate()
                except Exception:
                    log.exception("alerting: evaluation failed; retrying next tick")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.tick)
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
