"""The alert kinds: which alerts a verdict asks for, with which labels and resolve rules.

Each evaluation turns a village's or a parent device's verdict into one Intent per kind; the
lifecycle fires, updates or resolves the alert an intent names. A new kind is a name here,
an intent from the verdict (Kinds.village / Kinds.upstream), its causes in CAUSES_BY_KIND
and its words in texts.py (one entry per language).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from netwatch.alerting.rules import (
    OUTAGE_STATES,
    DeviceView,
    ServiceState,
    Topology,
    Verdict,
    lossy,
)
from netwatch.alerting.types import Severity, fingerprint
from netwatch.core.model import AlertingSettings, Role

VILLAGE_DOWN = "VillageWifiDown"
VILLAGE_DEGRADED = "VillageWifiDegraded"
UPSTREAM_DOWN = "UpstreamDown"
UPSTREAM_DEGRADED = "UpstreamDegraded"
DEGRADED_ALERTS = frozenset({VILLAGE_DEGRADED, UPSTREAM_DEGRADED})
# The causes (texts.CAUSES keys) each kind's alerts can carry, as rules.py writes them.
CAUSES_BY_KIND: dict[str, tuple[str, ...]] = {
    VILLAGE_DOWN: (
        "router_down",
        "ap_down",
        "radio_down",
        "all_devices_down",
        "upstream_down",
        "onu_dying_gasp",
        "onu_los",
        "onu_unknown",
    ),  # the ONU's: onu_join.py
    VILLAGE_DEGRADED: ("devices_down", "radio_down", "high_loss", "high_rtt"),
    UPSTREAM_DOWN: ("device_down", "upstream_down"),
    UPSTREAM_DEGRADED: ("high_loss", "high_rtt"),
}
HOLD_FACTOR = 0.5  # × degraded thresholds: a parent this lossy holds its children's warnings
RESOLVE_FACTOR = 0.75  # × degraded thresholds: a degraded warning resolves below this


@dataclass(frozen=True, slots=True)
class Intent:
    """What the rules want of one alert now."""

    labels: Mapping[str, str]  # alertname, severity, then the kind's own labels (read only)
    fingerprint: str
    verdict: Verdict
    want: bool  # the alert should be firing
    may_resolve: bool  # an open alert may resolve (not only "not wanted": settled too)
    trace_target: str | None = None  # wait (traceroute_wait) for this device's path break
    affected: tuple[str, ...] = ()  # village codes behind a parent
    hold_for: float | None = None  # seconds `want` must last before firing (degraded kinds)
    complaints: int = 0  # residents' complaints it fires with (correlation.py)


def _labels(
    name: str, severity: Severity, key: str, base: Callable[[str], dict[str, str]]
) -> dict[str, str]:
    return {"alertname": name, "severity": str(severity), **base(key)}


class LazyLabels(Mapping[str, str]):
    """The labels of alert `name` about `key`, built when first read. An evaluation reads its
    intents' fingerprints (kept by Kinds), their labels only when an alert opens
    (lifecycle.reconcile): a dict per kind and village, kept from the first evaluation on,
    held 23 MiB at 50,000 devices (issue 10)."""

    __slots__ = ("_base", "_got", "_key", "_name", "_severity")

    def __init__(
        self, name: str, severity: Severity, key: str, base: Callable[[str], dict[str, str]]
    ) -> None:
        self._name, self._severity, self._key, self._base = name, severity, key, base
        self._got: dict[str, str] | None = None

    def _dict(self) -> dict[str, str]:
        got = self._got
        if got is None:
            got = self._got = _labels(self._name, self._severity, self._key, self._base)
        return got

    def __getitem__(self, label: str) -> str:
        return self._dict()[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __repr__(self) -> str:
        return repr(self._dict())


class Kinds:
    """The alert kinds of one inventory (its topology's, never changed: a reload makes new
    Kinds); each alert's fingerprint is computed once, its labels when read (LazyLabels)."""

    def __init__(self, topology: Topology, settings: AlertingSettings) -> None:
        self.topology = topology
        self.settings = settings
        # Alert name → village code or device name → fingerprint.
        self._fingerprints: dict[str, dict[str, str]] = {}

    def _named(
        self, name: str, severity: Severity, key: str, base: Callable[[str], dict[str, str]]
    ) -> tuple[Mapping[str, str], str]:
        """(labels, fingerprint) of alert `name` about `key` (a village code or device name)."""
        fps = self._fingerprints.get(name)
        if fps is None:
            fps = self._fingerprints[name] = {}
        fp = fps.get(key)
        if fp is None:
            labels = _labels(name, severity, key, base)
            fp = fps[key] = fingerprint(labels)
            return labels, fp
        return LazyLabels(name, severity, key, base), fp

    def village_labels(self, code: str) -> dict[str, str]:
        inv = self.topology.inventory
        v = inv.villages[code]
        d = inv.districts.get(v.district)
        return {
            "village": code,
            "village_name": v.name,
            "district": v.district,
            "district_name": d.name if d else v.district,
            **inv.region_labels(v.district),
        }

    def device_labels(self, name: str) -> dict[str, str]:
        inv = self.topology.inventory
        dev = inv.devices[name]
        d = inv.districts.get(dev.district)
        return {
            "device": name,
            "district": dev.district,
            "district_name": d.name if d else dev.district,
            **inv.region_labels(dev.district),
        }

    def village(self, code: str, verdict: Verdict) -> tuple[Intent, Intent]:
        """VillageWifiDown and VillageWifiDegraded for one village."""
        s = self.settings
        inv = self.topology.inventory
        routers = [n for n in inv.villages[code].devices if inv.devices[n].role is Role.ROUTER]
        # The cause names its devices ("router_down:<routers>"): the key is before the colon.
        key = (verdict.cause or "").partition(":")[0]
        trace_target = routers[0] if routers and key == "router_down" else None
        settled = verdict.state is not ServiceState.UNKNOWN
        d = verdict.details
        calm = d.get("loss_ratio", 0.0) <= RESOLVE_FACTOR * s.degraded_loss_ratio and (
            d.get("rtt_seconds", 0.0) <= RESOLVE_FACTOR * s.degraded_rtt
        )
        down = Intent(
            *self._named(VILLAGE_DOWN, Severity.CRITICAL, code, self.village_labels),
            verdict,
            want=verdict.state in OUTAGE_STATES,
            may_resolve=settled and verdict.state not in OUTAGE_STATES,
            trace_target=trace_target,
        )
        degraded = Intent(
            *self._named(VILLAGE_DEGRADED, Severity.WARNING, code, self.village_labels),
            verdict,
            want=verdict.state is ServiceState.DEGRADED,
            may_resolve=settled and verdict.state is not ServiceState.DEGRADED and calm,
            hold_for=s.degraded_for,
        )
        return down, degraded

    def upstream(
        self, name: str, verdict: Verdict, track: DeviceView | None
    ) -> tuple[Intent, Intent]:
        """UpstreamDown and UpstreamDegraded for one parent device."""
        affected = tuple(sorted(self.topology.behind.get(name, ())))
        down = Intent(
            *self._named(UPSTREAM_DOWN, Severity.CRITICAL, name, self.device_labels),
            verdict,
            want=verdict.state in OUTAGE_STATES,
            may_resolve=verdict.state in (ServiceState.UP, ServiceState.DEGRADED),
            trace_target=name,
            affected=affected,
        )
        # Hysteresis: its own warning ends only below three quarters of the threshold (a
        # window near the line flaps).
        settled = track is not None and not lossy(track, self.settings, RESOLVE_FACTOR)
        degraded = Intent(
            *self._named(UPSTREAM_DEGRADED, Severity.WARNING, name, self.device_labels),
            verdict,
            want=verdict.state is ServiceState.DEGRADED,
            may_resolve=verdict.state is not ServiceState.DEGRADED and settled,
            affected=affected,
            hold_for=self.settings.degraded_for,
        )
        return down, degraded
