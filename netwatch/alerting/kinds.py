"""The alert kinds: which alerts a verdict asks for, with which labels and resolve rules.

Each evaluation turns a village's or a parent device's verdict into one Intent per kind; the
lifecycle fires, updates or resolves the alert an intent names. A new kind is a name here,
an intent from the verdict, and its texts in messages.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from netwatch.alerting.rules import (
    OUTAGE_STATES,
    DeviceView,
    ServiceState,
    Topology,
    Verdict,
    lossy,
)
from netwatch.alerting.types import Severity
from netwatch.core.model import AlertingSettings, Role

VILLAGE_DOWN = "VillageWifiDown"
VILLAGE_DEGRADED = "VillageWifiDegraded"
UPSTREAM_DOWN = "UpstreamDown"
UPSTREAM_DEGRADED = "UpstreamDegraded"
DEGRADED_ALERTS = frozenset({VILLAGE_DEGRADED, UPSTREAM_DEGRADED})
HOLD_FACTOR = 0.5  # × degraded thresholds: a parent this lossy holds its children's warnings
RESOLVE_FACTOR = 0.75  # × degraded thresholds: a degraded warning resolves below this


@dataclass(frozen=True, slots=True)
class Intent:
    """What the rules want of one alert now."""

    labels: dict[str, str]  # alertname, severity, then the kind's own labels
    verdict: Verdict
    want: bool  # the alert should be firing
    may_resolve: bool  # an open alert may resolve (not only "not wanted": settled too)
    trace_target: str | None = None  # wait (traceroute_wait) for this device's path break
    affected: tuple[str, ...] = ()  # village codes behind a parent
    hold_for: float | None = None  # seconds `want` must last before firing (degraded kinds)


def _labels(name: str, severity: Severity, base: dict[str, str]) -> dict[str, str]:
    return {"alertname": name, "severity": str(severity), **base}


def village_labels(topology: Topology, code: str) -> dict[str, str]:
    inv = topology.inventory
    v = inv.villages[code]
    d = inv.districts.get(v.district)
    return {
        "village": code,
        "village_name": v.name,
        "district": v.district,
        "district_name": d.name if d else v.district,
    }


def village_intents(
    topology: Topology, code: str, verdict: Verdict, settings: AlertingSettings
) -> tuple[Intent, Intent]:
    """VillageWifiDown and VillageWifiDegraded for one village."""
    base = village_labels(topology, code)
    devices = topology.inventory.village_devices(code)
    routers = [d.name for d in devices if d.role is Role.ROUTER]
    trace_target = routers[0] if routers and verdict.cause == "router_down" else None
    settled = verdict.state is not ServiceState.UNKNOWN
    d = verdict.details
    calm = d.get("loss_ratio", 0.0) <= RESOLVE_FACTOR * settings.degraded_loss_ratio and (
        d.get("rtt_seconds", 0.0) <= RESOLVE_FACTOR * settings.degraded_rtt
    )
    down = Intent(
        _labels(VILLAGE_DOWN, Severity.CRITICAL, base),
        verdict,
        want=verdict.state in OUTAGE_STATES,
        may_resolve=settled and verdict.state not in OUTAGE_STATES,
        trace_target=trace_target,
    )
    degraded = Intent(
        _labels(VILLAGE_DEGRADED, Severity.WARNING, base),
        verdict,
        want=verdict.state is ServiceState.DEGRADED,
        may_resolve=settled and verdict.state is not ServiceState.DEGRADED and calm,
        hold_for=settings.degraded_for,
    )
    return down, degraded


def upstream_intents(
    topology: Topology,
    name: str,
    verdict: Verdict,
    track: DeviceView | None,
    settings: AlertingSettings,
) -> tuple[Intent, Intent]:
    """UpstreamDown and UpstreamDegraded for one parent device."""
    inv = topology.inventory
    dev = inv.devices[name]
    d = inv.districts.get(dev.district)
    base = {"device": name, "district": dev.district}
    base["district_name"] = d.name if d else dev.district
    affected = tuple(sorted(topology.behind.get(name, ())))
    down = Intent(
        _labels(UPSTREAM_DOWN, Severity.CRITICAL, base),
        verdict,
        want=verdict.state in OUTAGE_STATES,
        may_resolve=verdict.state in (ServiceState.UP, ServiceState.DEGRADED),
        trace_target=name,
        affected=affected,
    )
    # Hysteresis: its own warning ends only below three quarters of the threshold (a window
    # near the line flaps).
    settled = track is not None and not lossy(track, settings, RESOLVE_FACTOR)
    degraded = Intent(
        _labels(UPSTREAM_DEGRADED, Severity.WARNING, base),
        verdict,
        want=verdict.state is ServiceState.DEGRADED,
        may_resolve=verdict.state is not ServiceState.DEGRADED and settled,
        affected=affected,
        hold_for=settings.degraded_for,
    )
    return down, degraded
