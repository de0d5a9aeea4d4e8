"""Metric source for alert state: village service state after hold-downs, and firing alerts.

`source(alerts)` returns a `families(state)` function for exporters.prometheus; everything is
built from the alert engine's read-only snapshot (netwatch.alerting.snapshot), never from the
engine itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from netwatch.alerting.rules import OUTAGE_STATES, ServiceState
from netwatch.alerting.snapshot import SnapshotSource
from netwatch.core.state import State


def source(alerts: SnapshotSource) -> Callable[[State], Iterable[Metric]]:
    """The metric source for this engine (or the service running it)."""

    def alert_families(state: State) -> Iterable[Metric]:
        return families(alerts)

    return alert_families


def families(alerts: SnapshotSource) -> list[Metric]:
    """Village service state, firing alerts and the engine's own counters."""
    snap = alerts.snapshot()
    svc = GaugeMetricFamily(
        "netwatch_village_service_state",
        "1 for the village's service state after hold-downs (up, degraded, down, "
        "unreachable-upstream, maintenance, unknown), 0 for the others.",
        labels=["village", "district", "state"],
    )
    svc_up = GaugeMetricFamily(
        "netwatch_village_service_up",
        "1 if the village's Wi-Fi service is up or degraded after hold-downs, 0 if down or "
        "unreachable behind a broken parent (also during maintenance); absent while unknown.",
        labels=["village", "district"],
    )
    for code, district in snap.villages.items():
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
    return [
        *(svc, svc_up, active, firing, reports, flapping),
        *(silences, sent, evals, errors, correlated),
    ]
