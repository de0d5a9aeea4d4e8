"""Metric source for alert state: village service state after hold-downs, and firing alerts.

`source(alerts)` returns an `AlertFamilies` source for exporters.prometheus; everything is
built from the alert engine's read-only snapshot (netwatch.alerting.snapshot), never from the
engine itself. The two per-village families (seven lines a village) are written straight to
text; the rest, a few lines, go through client_python's Metric objects.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from netwatch.alerting.rules import OUTAGE_STATES, ServiceState
from netwatch.alerting.snapshot import AlertSnapshot, SnapshotSource
from netwatch.core.state import State
from netwatch.exporters.deflate_segments import Kept, kept_slices
from netwatch.exporters.prometheus_format import TextFamily, VillageLabels, from_metric
from netwatch.exporters.prometheus_inventory import TextContext

SLICE = 2_000  # villages per slice of a scrape
SERVICE_STATE = (
    "netwatch_village_service_state",
    "1 for the village's service state after hold-downs (up, degraded, down, "
    "unreachable-upstream, maintenance, unknown), 0 for the others.",
)
SERVICE_UP = (
    "netwatch_village_service_up",
    "1 if the village's Wi-Fi service is up or degraded after hold-downs, 0 if down or "
    "unreachable behind a broken parent (also during maintenance); absent while unknown.",
)
_TAILS = {
    shown: tuple(f'{s.value}"}} {"1.0" if s is shown else "0.0"}\n' for s in ServiceState)
    for shown in ServiceState
}


class AlertFamilies:
    """The alert families of whatever engine `get()` returns (None: not started yet)."""

    __name__ = "alert_families"

    def __init__(self, get: Callable[[], SnapshotSource | None]) -> None:
        self._get = get
        self._villages = VillageLabels()
        self._seen = 0
        # The per-village slices of gzip scrapes, by (family, first index); their key is the
        # villages (code → district: the labels) and each village's state byte (_state_bytes).
        self._kept: dict[tuple[str, int], Kept] = {}
        self._mapping: Mapping[str, str] | None = None
        self._labels: Villages = []  # (code, label text) of _mapping's villages

    def __call__(self, state: State) -> Iterable[Metric]:
        alerts = self._get()
        return () if alerts is None else families(alerts)

    def text(self, ctx: TextContext) -> Iterator[TextFamily]:
        alerts = self._get()
        if alerts is None:
            return
        snap = alerts.snapshot()
        if len(snap.villages) < self._seen:  # fewer villages after a reload: drop the gone
            self._villages.keep_only(snap.villages)
        self._seen = len(snap.villages)
        if snap.villages is not self._mapping and snap.villages != self._mapping:
            self._kept.clear()  # a reload (or the first scrape): every key names the old ones
            self._mapping = snap.villages
            self._labels = [(c, self._villages.text(c, d)) for c, d in snap.villages.items()]
        villages = self._labels  # the same villages and districts: the same label texts
        starts = range(0, len(villages), SLICE)
        state = partial(_service_state, snap, villages)
        up = partial(_service_up, snap, villages)
        state_chunks: Iterable[str | Kept]
        up_chunks: Iterable[str | Kept]
        if ctx.reuse:  # a slice is kept while its villages and their states stay
            keys = functools.cache(partial(_state_bytes, snap, villages))  # asked by both
            state_chunks = self._reuse(SERVICE_STATE[0], starts, keys, state)
            up_chunks = self._reuse(SERVICE_UP[0], starts, keys, up)
        else:
            state_chunks, up_chunks = map(state, starts), map(up, starts)
        yield TextFamily(SERVICE_STATE[0], "gauge", SERVICE_STATE[1], state_chunks)  # type: ignore[arg-type]
        yield TextFamily(SERVICE_UP[0], "gauge", SERVICE_UP[1], up_chunks)  # type: ignore[arg-type]
        for metric in snapshot_families(snap, per_village=False):
            yield from_metric(metric)

    def _reuse(
        self, name: str, starts: range, key_of: Callable[[int], bytes], write: Callable[[int], str]
    ) -> Iterator[Kept]:
        """Each slice kept from the last gzip scrape while its key holds (not written again)."""
        return kept_slices(self._kept, name, starts, lambda a: (self._mapping, key_of(a)), write)


def source(alerts: SnapshotSource) -> AlertFamilies:
    """The metric source for this engine (or the service running it)."""
    return AlertFamilies(lambda: alerts)


Villages = list[tuple[str, str]]  # (code, label text)


def _service_state(snap: AlertSnapshot, villages: Villages, a: int) -> str:
    """The slice of service state lines from village a."""
    shown_of, unknown = snap.shown.get, ServiceState.UNKNOWN
    out = []
    for code, labels in villages[a : a + SLICE]:
        head = f'netwatch_village_service_state{{{labels},state="'
        out.extend([head + tail for tail in _TAILS[shown_of(code, unknown)]])
    return "".join(out)


def _service_up(snap: AlertSnapshot, villages: Villages, a: int) -> str:
    """The slice of service up lines from village a."""
    shown, recorded = snap.shown, snap.recorded
    out = []
    for code, labels in villages[a : a + SLICE]:
        truth = recorded.get(code)
        if truth is None or shown.get(code, ServiceState.UNKNOWN) is ServiceState.UNKNOWN:
            continue
        up = "0.0" if truth in OUTAGE_STATES else "1.0"
        out.append(f"netwatch_village_service_up{{{labels}}} {up}\n")
    return "".join(out)


_SHOWN = {s: i * 8 for i, s in enumerate(ServiceState)}
_RECORDED: dict[ServiceState | None, int] = {None: 0} | {
    s: i + 1 for i, s in enumerate(ServiceState)
}
assert len(ServiceState) < 8  # a state byte holds both


def _state_bytes(snap: AlertSnapshot, villages: Villages, a: int) -> bytes:
    """One byte a village of the slice from a: its shown and its recorded state (all that its
    lines in both per-village families are written from, besides its labels)."""
    shown_of, recorded_of, unknown = snap.shown.get, snap.recorded.get, ServiceState.UNKNOWN
    return bytes(
        [_SHOWN[shown_of(code, unknown)] + _RECORDED[recorded_of(code)]
         for code, _ in villages[a : a + SLICE]]
    )  # fmt: skip


def families(alerts: SnapshotSource) -> list[Metric]:
    """Village service state, firing alerts and the engine's own counters."""
    return snapshot_families(alerts.snapshot())


def snapshot_families(snap: AlertSnapshot, per_village: bool = True) -> list[Metric]:
    """families() of one snapshot; per_village=False leaves out the per-village families."""
    svc = GaugeMetricFamily(*SERVICE_STATE, labels=["village", "district", "state"])
    svc_up = GaugeMetricFamily(*SERVICE_UP, labels=["village", "district"])
    for code, district in snap.villages.items() if per_village else ():
        shown = snap.shown.get(code, ServiceState.UNKNOWN)
        for s in ServiceState:
            svc.add_metric([code, district, s.value], 1.0 if s is shown else 0.0)
        truth = snap.recorded.get(code)
        if truth is not None and shown is not ServiceState.UNKNOWN:
            svc_up.add_metric([code, district], 0.0 if truth in OUTAGE_STATES else 1.0)
    active = GaugeMetricFamily(
        "netwatch_alert_active",
        "1 per open alert; notified=false while held back (parent down, maintenance, silence, "
        "flapping).",
        labels=["alertname", "severity", "village", "district", "device", "notified"],
    )
    firing = GaugeMetricFamily(
        "netwatch_alerts_firing",
        "Open alerts by name and severity.",
        labels=["alertname", "severity"],
    )
    reports = GaugeMetricFamily(
        "netwatch_alert_complaints",
        "Residents' complaints attached to each open alert (an outage's, or the "
        "VillageWifiComplaints warning's).",
        labels=["alertname", "severity", "village", "district", "device"],
    )
    counts: Counter[tuple[str, str]] = Counter()
    for a in snap.alerts:
        lab = a.labels
        counts[(lab["alertname"], lab["severity"])] += 1
        where = [lab.get("village", ""), lab.get("district", ""), lab.get("device", "")]
        reports.add_metric([lab["alertname"], lab["severity"], *where], float(a.complaints))
        active.add_metric(
            [
                lab["alertname"],
                lab["severity"],
                lab.get("village", ""),
                lab.get("district", ""),
                lab.get("device", ""),
                "true" if a.notified else "false",
            ],
            1.0,
        )
    for (name, sev), n in sorted(counts.items()):
        firing.add_metric([name, sev], float(n))
    flapping = GaugeMetricFamily(
        "netwatch_alerts_flapping", "Alerts being held as flapping.", value=snap.flapping
    )
    silences = GaugeMetricFamily(
        "netwatch_silences_active",
        "Silences in force now.",
        value=snap.silences_active,
    )
    sent = CounterMetricFamily(
        "netwatch_alert_notifications",
        "Notifications the engine enqueued, by event (firing, resolved, reminder, escalation, "
        "flapping).",
        labels=["event"],
    )
    for event in ("firing", "resolved", "reminder", "escalation", "flapping"):
        sent.add_metric([event], float(snap.notifications.get(event, 0)))
    evals = CounterMetricFamily(
        "netwatch_alert_evaluations", "Engine evaluations run.", value=snap.evaluations
    )
    errors = CounterMetricFamily(
        "netwatch_alert_evaluation_errors",
        "Errors while evaluating a village, a device or an alert (logged; the rest went on).",
        value=snap.errors,
    )
    correlated = CounterMetricFamily(
        "netwatch_complaints_correlated",
        "Residents' complaints the engine attached to an alert: to a known outage's (outage) or "
        "to a VillageWifiComplaints warning, measurements being up (unexplained).",
        labels=["result"],
    )
    for result in ("outage", "unexplained"):
        correlated.add_metric([result], float(snap.correlated.get(result, 0)))
    rest = [active, firing, reports, flapping, silences, sent, evals, errors, correlated]
    return [svc, svc_up, *rest] if per_village else rest
