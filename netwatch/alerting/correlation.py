"""Residents' complaints weighed against the measurements (issue 12, "correlation").

Once per evaluation, after the villages: open complaints received within
`settings.alerting.complaints.window` are read from the complaint store (a ComplaintFeed).
A complaint from a village that an open outage alert covers is attached to that alert. Several
complaints from a village that every measurement says is up raise one warning,
VillageWifiComplaints, through the normal path (lifecycle, mute stage, outbox); it resolves when
the window passes with no open complaint (an operator closing them counts) or an outage alert
takes over. Attachments are rows of the alert database (complaint_links.py); the complaint
store is told afterwards, best effort, so that `netwatch complaints list` shows them too.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from netwatch.alerting import complaint_links
from netwatch.alerting.complaint_links import Key
from netwatch.alerting.complaint_texts import KIND as VILLAGE_COMPLAINTS
from netwatch.alerting.kinds import (
    UPSTREAM_DEGRADED,
    UPSTREAM_DOWN,
    VILLAGE_DEGRADED,
    VILLAGE_DOWN,
    Intent,
    Kinds,
)
from netwatch.alerting.lifecycle import Lifecycle
from netwatch.alerting.records import OpenAlert
from netwatch.alerting.rules import ServiceState, Topology, Verdict
from netwatch.alerting.store import AlertStore
from netwatch.alerting.types import Severity, fingerprint
from netwatch.core.model import Inventory

log = logging.getLogger("netwatch.alerting")

VILLAGE_OUTAGES = frozenset({VILLAGE_DOWN, VILLAGE_DEGRADED})
UPSTREAM_OUTAGES = frozenset({UPSTREAM_DOWN, UPSTREAM_DEGRADED})
HORIZON = 7 * 86400.0  # links kept in memory: the longest window the config allows
LOG_EVERY = 60.0  # seconds between two log lines about a failing complaint store
MAX_PENDING = 10_000  # links waiting to be told to the complaint store
RETELL = 3600.0  # after a (re)load, links this recent are told to the complaint store again


@dataclass(frozen=True, slots=True)
class ComplaintRef:
    """What the engine needs of one complaint: no text, no category."""

    id: int
    village: str
    received_at: float
    open: bool  # not closed by an operator

    @property
    def key(self) -> Key:
        return (self.id, self.received_at)


class ComplaintFeed(Protocol):
    """The complaint store as the engine sees it (netwatch.public.complaint_feed.StoreFeed)."""

    def recent(self, since: float) -> Sequence[ComplaintRef]:
        """Every complaint received at or after since, open or closed."""
        ...

    def attach(self, links: Mapping[Key, int]) -> None:
        """Note the alert each complaint is attached to (best effort; raises on failure)."""
        ...


# Village code → whether every measurement of it (service probes too) says up now.
MeasuredUp = Callable[[str], bool]


class Correlation:
    def __init__(self, store: AlertStore, lifecycle: Lifecycle) -> None:
        self.store = store
        self.lifecycle = lifecycle
        self.feed: ComplaintFeed | None = None  # None: no complaint store, nothing to weigh
        self.measured_up: MeasuredUp | None = None  # None: the engine's verdict alone
        self.linked: dict[Key, int] = {}  # complaint → alert id, received within HORIZON
        self.pending: dict[Key, int] = {}  # linked, not yet told to the complaint store
        self.correlated: Counter[str] = Counter()  # complaints attached: outage | unexplained
        self.errors = 0  # failed reads of the complaint store (and failed notes to it)
        self._logged_at = -LOG_EVERY
        self._pruned_at = 0.0
        self._labels: tuple[Kinds | None, dict[str, tuple[dict[str, str], str]]] = (None, {})

    def load(self, now: float) -> None:
        """Links and per-alert counts as committed (after start or a rolled-back evaluation)."""
        conn = self.store.conn
        self.linked = complaint_links.links_since(conn, now - HORIZON)
        # What was committed, told again: a kill between commit and note lost nothing.
        self.pending = complaint_links.linked_since(conn, now - RETELL)
        open_alerts = self.lifecycle.open.values()
        counts = complaint_links.counts(conn, (a.id for a in open_alerts))
        for a in open_alerts:
            a.complaints = counts.get(a.id, 0)

    def read(self, now: float, inventory: Inventory) -> dict[str, list[ComplaintRef]] | None:
        """The open complaints received within the window, by village of the inventory, read
        from the complaint store; None without a store or when it cannot be read (counted and
        logged: nothing is decided on stale data, alerts stay as they are)."""
        if self.feed is None:
            return None
        settings = inventory.settings.alerting.complaints
        if now - self._pruned_at >= LOG_EVERY:  # a walk over a week of links: once a minute
            self._pruned_at = now
            for key in [k for k in self.linked if k[1] < now - HORIZON]:
                del self.linked[key]
        try:
            rows = self.feed.recent(now - settings.window)
        except Exception as exc:
            self._failed("cannot read the complaint store", exc)
            return None
        by_village: dict[str, list[ComplaintRef]] = {}
        for r in rows:
            fresh = now - r.received_at <= settings.window
            if r.open and fresh and r.village in inventory.villages:
                by_village.setdefault(r.village, []).append(r)
        return by_village

    def current(self) -> dict[str, OpenAlert]:
        """The open VillageWifiComplaints alerts, by village."""
        return {
            a.labels.get("village", ""): a
            for a in self.lifecycle.open.values()
            if a.labels.get("alertname") == VILLAGE_COMPLAINTS
        }

    def evaluate(
        self,
        now: float,
        inventory: Inventory,
        kinds: Kinds,
        topology: Topology,
        recorded: Mapping[str, ServiceState],
        complaints: Mapping[str, list[ComplaintRef]] | None = None,
    ) -> None:
        """Attach new complaints, fire or resolve VillageWifiComplaints (in the transaction);
        complaints: what read() returned (None: read them now). With no complaint and no such
        alert open it changes nothing (the engine then leaves it out of a tick)."""
        by_village = self.read(now, inventory) if complaints is None else complaints
        if by_village is None:
            return
        threshold = inventory.settings.alerting.complaints.threshold
        current = self.current()
        for code in sorted(by_village.keys() | current.keys()):
            if code in inventory.villages:
                self._village(code, by_village.get(code, []), current.get(code), now, kinds,
                              topology, recorded.get(code), threshold)  # fmt: skip

    def _village(
        self,
        code: str,
        rows: list[ComplaintRef],
        current: OpenAlert | None,
        now: float,
        kinds: Kinds,
        topology: Topology,
        state: ServiceState | None,
        threshold: int,
    ) -> None:
        unlinked = [r for r in rows if r.key not in self.linked]
        cover = self._cover(code)
        if cover is not None:
            # A known outage explains them: its alert carries them, no new alert.
            for r in unlinked:
                self._link(r, cover, "outage", now)
            if current is not None:
                self._reconcile(code, kinds, topology, now, want=False, count=0)
            return
        mine = [r for r in rows if self.linked.get(r.key, -1) in (-1, current and current.id)]
        up = state is ServiceState.UP and (self.measured_up is None or self.measured_up(code))
        want = len(mine) >= (1 if current is not None else threshold) and (
            current is not None or up
        )
        if not want and current is None:
            return
        self._reconcile(code, kinds, topology, now, want=want, count=len(mine))
        alert = self.lifecycle.open.get(self._named(code, kinds)[1])
        if alert is not None:
            fired = current is None  # it fired with the count already
            for r in unlinked:
                self._link(r, alert, "unexplained", now, count=not fired)

    def _reconcile(
        self, code: str, kinds: Kinds, topology: Topology, now: float, *, want: bool, count: int
    ) -> None:
        labels, fp = self._named(code, kinds)
        intent = Intent(
            labels,
            fp,
            Verdict(ServiceState.UP),  # no cause: a cause change would be an update
            want=want,
            may_resolve=True,
            complaints=count,
        )
        self.lifecycle.reconcile(intent, topology, now)

    def _named(self, code: str, kinds: Kinds) -> tuple[dict[str, str], str]:
        if self._labels[0] is not kinds:  # a reload built new kinds: new names, perhaps
            self._labels = (kinds, {})
        got = self._labels[1].get(code)
        if got is None:
            labels = {
                "alertname": VILLAGE_COMPLAINTS,
                "severity": str(Severity.WARNING),
                **kinds.village_labels(code),
            }
            got = self._labels[1][code] = (labels, fingerprint(labels))
        return got

    def _cover(self, code: str) -> OpenAlert | None:
        """The open outage alert that speaks for the village: notified first, then critical."""
        best: tuple[bool, bool, int] | None = None
        found: OpenAlert | None = None
        for a in self.lifecycle.open.values():
            name = a.labels.get("alertname")
            if (name in VILLAGE_OUTAGES and a.labels.get("village") == code) or (
                name in UPSTREAM_OUTAGES and code in a.affected_villages
            ):
                rank = (a.notified_at is None, a.labels.get("severity") != "critical", a.id)
                if best is None or rank < best:
                    best, found = rank, a
        return found

    def _link(
        self, r: ComplaintRef, alert: OpenAlert, why: str, now: float, count: bool = True
    ) -> None:
        if complaint_links.link(self.store.conn, r.key, r.village, alert.id, now):
            if count:
                alert.complaints += 1
            self.correlated[why] += 1
            if len(self.pending) < MAX_PENDING:
                self.pending[r.key] = alert.id
        self.linked[r.key] = alert.id

    def committed(self) -> None:
        """After the evaluation's commit: tell the complaint store its new links."""
        if not self.pending or self.feed is None:
            return
        try:
            self.feed.attach(self.pending)
        except Exception as exc:
            self._failed("cannot note attachments in the complaint store", exc)
            return  # kept: tried again after the next evaluation
        self.pending = {}

    def _failed(self, what: str, exc: Exception) -> None:
        self.errors += 1
        mono = time.monotonic()
        if mono - self._logged_at >= LOG_EVERY:
            self._logged_at = mono
            log.error("alerting: %s: %s (complaints are not weighed meanwhile)", what, exc)
