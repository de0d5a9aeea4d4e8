"""What the board reads of the alert engine, in one place: village state and known outages.

Read-only and cheap (in-memory dicts, on the event loop). When the engine offers its own
read-only snapshot, only read_engine() changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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


class _OpenAlert(Protocol):
    labels: dict[str, str]
    starts_at: float
    cause: str | None
    affected_villages: tuple[str, ...]


class EngineSource(Protocol):
    """What read_engine needs of the running monitor (netwatch.core.runtime.Runtime)."""

    state: State
    alert_engine: object


def read_engine(runtime: EngineSource) -> EngineFacts:
    """Village facts after the engine's hold-downs, or from raw rounds if it is not running."""
    engine = runtime.alert_engine
    codes = list(runtime.state.inventory.villages)
    if engine is None:
        return EngineFacts(_from_state(runtime.state, codes), 0, False)
    display = dict(getattr(engine, "display", {}))
    alerts: list[_OpenAlert] = list(getattr(engine, "open", {}).values())
    by_village: dict[str, _OpenAlert] = {}
    covered: set[str] = set()
    for a in alerts:
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
        shown = display.get(code)
        state = _PUBLIC_STATE.get(str(shown), "unknown") if shown is not None else "unknown"
        a = by_village.get(code)
        out[code] = VillageFacts(
            state=state,
            cause=a.cause if a is not None else None,
            outage_known=code in covered,
            alert_since=a.starts_at if a is not None else None,
        )
    stats = getattr(engine, "stats", None)
    return EngineFacts(out, int(getattr(stats, "evaluations", 0)), True)


def _from_state(state: State, codes: list[str]) -> dict[str, VillageFacts]:
    out = {}
    for code in codes:
        status = state.village_status(code)
        public = "unknown" if status is VillageStatus.UNKNOWN else str(status)
        out[code] = VillageFacts(public, None, False, None)
    return out
