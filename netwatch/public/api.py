"""The public JSON API (/api/v1/...): the same public view as the pages, as plain data.

Shapes are documented in openapi.py; times are RFC 3339 in UTC (milliseconds), ratios 0..1.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from netwatch.public.texts import CAUSES
from netwatch.public.view import Incident, PublicView, VillageView, counts, regency_villages

JSON = dict[str, Any]


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _cause(key: str | None) -> JSON | None:
    if key is None:
        return None
    words = CAUSES.get(key, CAUSES["unknown"])
    return {"key": key, "id": words["id"], "en": words["en"]}


def village_summary(view: PublicView, v: VillageView) -> JSON:
    return {
        "code": v.code,
        "name": v.name,
        "kind": v.kind,
        "district": v.district,
        "district_name": view.districts[v.district].name,
        "regency": v.regency,
        "latitude": v.lat,
        "longitude": v.lon,
        "state": v.state,
        "since": iso(v.since),
        "url": f"/{v.code}",
    }


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def village_detail(view: PublicView, v: VillageView) -> JSON:
    today, d7, d30, d90 = v.uptime
    return {
        **village_summary(view, v),
        "cause": _cause(v.cause),
        "outage_known": v.outage_known,
        "uptime": {"today": today, "days_7": d7, "days_30": d30, "days_90": d90},
        "reports": {
            "last_24h": v.reports.last_24h,
            "open": v.reports.open,
            "last_at": iso(v.reports.last_at),
        },
        "maintenance": [{"start": iso(a), "end": iso(b)} for a, b in v.maintenance],
        "wifi_hours": [
            {"days": list(h.days), "start": _hhmm(h.start), "end": _hhmm(h.end)} for h in v.hours
        ],
        "updated_at": iso(view.generated_at),
    }


def incident(view: PublicView, v: VillageView, i: Incident) -> JSON:
    return {
        "village": v.code,
        "village_name": v.name,
        "district": v.district,
        "start": iso(i.start),
        "end": iso(i.end),
        "kind": i.kind,
        "cause": _cause(i.cause),
    }


def village_history(view: PublicView, v: VillageView) -> JSON:
    return {
        "village": v.code,
        "history_available": view.history,
        "days": [
            {"date": d.date, "uptime": d.uptime, "outage_seconds": d.outage_seconds} for d in v.days
        ],
        "incidents": [incident(view, v, i) for i in v.incidents],
    }


def regency(view: PublicView, code: str) -> JSON:
    r = view.regencies[code]
    codes = regency_villages(view, code)
    return {
        "code": r.code,
        "name": r.name,
        "villages": len(codes),
        "counts": counts(view, codes),
        "districts": [district_summary(view, d) for d in r.districts],
        "updated_at": iso(view.generated_at),
    }


def district_summary(view: PublicView, code: str) -> JSON:
    d = view.districts[code]
    return {
        "code": d.code,
        "name": d.name,
        "regency": d.regency,
        "villages": len(d.villages),
        "counts": counts(view, d.villages),
        "url": f"/{d.code}",
    }


def district_detail(view: PublicView, code: str) -> JSON:
    d = view.districts[code]
    return {
        **district_summary(view, code),
        "village_list": [village_summary(view, view.villages[c]) for c in d.villages],
        "updated_at": iso(view.generated_at),
    }


def incidents(view: PublicView, codes: list[str], ongoing: bool | None) -> list[JSON]:
    """Incidents of the villages in codes (newest first), optionally only ongoing/ended ones."""
    out: list[tuple[float, JSON]] = []
    for c in codes:
        v = view.villages[c]
        for i in v.incidents:
            if ongoing is None or ongoing == (i.end is None):
                out.append((i.start, incident(view, v, i)))
    out.sort(key=lambda p: p[0], reverse=True)
    return [j for _, j in out[:500]]
