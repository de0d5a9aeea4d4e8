"""What the board reads of the alert engine, in one place: village state and known outages.

Read-only and cheap (in-memory dicts, on the event loop). When the engine offers its own
read-only snapshot, only read_engine() changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from netwatch.alerting.snapshot import AlertView, SnapshotSource
from netwatch.core.state import State, VillageStatus

VILLAGE_ALERTS = ("VillageWifiDown", "VillageWifiDegraded")
_PUBLIC_STATE = {
    "up": "up",
    "degraded": "degraded",
    "down": "down",
    "unreachable-upstream": "down",
    "maintenance": "maintenance",
    "unknown": "unknown",
}


@dataclass(frozen=True, slots=True)
class VillageFacts:
    state: str  # public state: up | degraded | down | maintenance | unknown
    cause: str | None  # engine cause of the open village alert (may name a device: not public)
    outage_known: bool  # an open alert covers the village
    alert_since: float | None  # start of that alert


@dataclass(frozen=True, slots=True)
class EngineFacts:
    villages: dict[str, VillageFacts]
    evaluation: int  # the engine's evaluation count; changes once per evaluation
    from_engine: bool  # False: the alert engine is not running, states come from raw rounds


class EngineSource(Protocol):
    """What read_engine needs of the running monitor (netwatch.core.runtime.Runtime)."""

    state: State

    @property
    def alerts(self) -> SnapshotSource | None: ...


def read_engine(runtime: EngineSource) -> EngineFacts:
    """Village facts after the engine's hold-downs, or from raw rounds if it is not running."""
    codes = list(runtime.state.inventory.villages)
    source = runtime.alerts
    if source is None:
        return EngineFacts(_from_state(runtime.state, codes), 0, False)
    snap = source.snapshot()
    by_village: dict[str, AlertView] = {}
    covered: set[str] = set()
    for a in snap.alerts:
        code = a.labels.get("village")
        if code is not None:
            covered.add(code)
            cur = by_village.get(code)
            # The outage (critical) alert speaks for the village over a degraded warning.
            if a.labels.get("alertname") in VILLAGE_ALERTS and (
                cur is None or a.labels.get("severity") == "critical"
            ):
                by_village[code] = a
        covered.update(a.affected_villages)
    out: dict[str, VillageFacts] = {}
    for code in codes:
        shown = snap.shown.get(code)
        state = _PUBLIC_STATE.get(str(shown), "unknown") if shown is not None else "unknown"
        alert = by_village.get(code)
        out[code] = VillageFacts(
            state=state,
            cause=alert.cause if alert is not None else None,
            outage_known=code in covered,
            alert_since=alert.starts_at if alert is not None else None,
        )
    return EngineFacts(out, snap.evaluations, True)


def _from_state(state: State, codes: list[str]) -> dict[str, VillageFacts]:
    out = {}
    for code in codes:
        status = state.village_status(code)
        public = "unknown" if status is VillageStatus.UNKNOWN else str(status)
        out[code] = VillageFacts(public, None, False, None)
    return out
