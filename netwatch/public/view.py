"""The public view: everything the public side may show, and nothing else.

Plain frozen records of codes, names, states, times and ratios, built by netwatch.public.build
and sent to the board's process. No device, address, credential or internal label fits here.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Incident:
    """One outage of a village in public words."""

    start: float
    end: float | None  # None while it lasts
    kind: str  # down | degraded
    cause: str  # public cause key (texts.CAUSES)


@dataclass(frozen=True, slots=True)
class Day:
    """One local day of the 90-day bar."""

    date: str  # YYYY-MM-DD in the board's time zone
    start: float
    end: float
    uptime: float | None  # ratio of observed time without outage; None = no data
    outage_seconds: int = 0


@dataclass(frozen=True, slots=True)
class Hours:
    """Office Wi-Fi hours: weekdays (Monday = 0), minutes after local midnight."""

    days: tuple[int, ...]
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Reports:
    """Complaints from residents about one village."""

    last_24h: int = 0
    open: int = 0
    last_at: float | None = None


@dataclass(frozen=True, slots=True)
class VillageView:
    code: str
    name: str
    kind: str  # desa | kelurahan
    district: str
    regency: str
    lat: float | None
    lon: float | None
    state: str  # up | degraded | down | maintenance | unknown
    since: float | None  # when the current state began, if recorded
    cause: str | None  # public cause key while not up
    outage_known: bool  # an open alert of the NOC covers this village
    uptime: tuple[float | None, float | None, float | None, float | None]  # today/7/30/90 days
    days: tuple[Day, ...]  # oldest first, today last
    incidents: tuple[Incident, ...]  # newest first, last 90 days
    maintenance: tuple[tuple[float, float], ...]  # planned windows ahead (start, end)
    hours: tuple[Hours, ...]
    reports: Reports = field(default_factory=Reports)
    rev: int = 0  # changes whenever anything above changes (page caches compare it)


@dataclass(frozen=True, slots=True)
class DistrictView:
    code: str
    name: str
    regency: str
    villages: tuple[str, ...]
    rev: int = 0


@dataclass(frozen=True, slots=True)
class RegencyView:
    code: str
    name: str
    districts: tuple[str, ...]
    rev: int = 0


@dataclass(frozen=True, slots=True)
class PublicView:
    generated_at: float
    minute: int  # generated_at // 60: pages show times to the minute
    language: str  # default language of the pages
    timezone: str
    base_url: str  # "" = from the request's Host
    history: bool  # the outage history could be read
    regencies: dict[str, RegencyView]
    districts: dict[str, DistrictView]
    villages: dict[str, VillageView]
    max_text_chars: int = 500
    refresh_seconds: float = 60.0  # how often pages fetch themselves again where JS runs
    evaluation: int = 0  # the engine evaluation it was built after


def counts(view: PublicView, codes: tuple[str, ...] | list[str]) -> dict[str, int]:
    """Villages per state among codes."""
    out = dict.fromkeys(("up", "degraded", "down", "maintenance", "unknown"), 0)
    for c in codes:
        out[view.villages[c].state] += 1
    return out


def regency_villages(view: PublicView, code: str) -> list[str]:
    return [v for d in view.regencies[code].districts for v in view.districts[d].villages]
