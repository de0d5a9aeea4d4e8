"""Build the public view from the inventory, the engine's facts, the history and the complaints.

Only codes, official names, coordinates, states, times and ratios are copied: the view is
the one thing the public side ever sees.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Sequence

from netwatch.alerting.maintenance import Maintenance, MaintenanceError, Window
from netwatch.alerting.report import VillageUptime
from netwatch.core.model import Inventory
from netwatch.core.public_settings import PublicSettings, hours_for
from netwatch.public.complaints import ComplaintStore
from netwatch.public.engine_view import EngineFacts
from netwatch.public.history import DaySpan, History, HistoryFacts, day_spans
from netwatch.public.texts import public_cause
from netwatch.public.view import (
    Day,
    DistrictView,
    Hours,
    PublicView,
    RegencyView,
    Reports,
    VillageView,
)

log = logging.getLogger("netwatch.public")

PERIODS = (1, 7, 30, 90)  # days: today, 7, 30 and 90 days (today included)
AHEAD = 14 * 86400.0  # planned maintenance shown this far ahead
MAX_INCIDENTS = 50


Uptime = tuple[float | None, float | None, float | None, float | None]


def _ratio_of(outage: float, known: float) -> float | None:
    """1 - outage / observed time, to 0.01 %; None when nothing was observed."""
    if known <= 0:
        return None
    return round(max(0.0, 1.0 - outage / known), 4)


def _day(span: DaySpan, u: VillageUptime | None) -> Day:
    if u is None:
        return Day(span.date, span.start, span.end, None, 0)
    return Day(
        span.date,
        span.start,
        span.end,
        _ratio_of(u.outage_seconds, u.known_seconds),
        int(u.outage_seconds),
    )


def windows_ahead(
    windows: Sequence[Window], village: str, district: str, devices: list, now: float
) -> tuple[tuple[float, float], ...]:
    """Planned windows covering the village that have not ended, up to AHEAD from now."""
    out: set[tuple[float, float]] = set()
    for w in windows:
        if not w.matches(village, district, devices):
            continue
        if w.start_at is not None and w.end_at is not None:
            if w.end_at > now and w.start_at < now + AHEAD:
                out.add((w.start_at, w.end_at))
            continue
        local = dt.datetime.fromtimestamp(now, w.tz).date()
        length = (w.end_min - w.start_min) % 1440 * 60.0
        for back in range(-1, 15):
            day = local + dt.timedelta(days=back)
            if day.weekday() not in w.days:
                continue
            start = dt.datetime.combine(day, dt.time(), w.tz).timestamp() + w.start_min * 60
            if start + length > now and start < now + AHEAD:
                out.add((start, start + length))
    return tuple(sorted(out))


class Builder:
    """Keeps the previous view so that unchanged villages keep their revision."""

    def __init__(self, history: History | None, store: ComplaintStore | None) -> None:
        self.history = history
        self.store = store
        self._prev: dict[str, VillageView] = {}
        # Unique beyond this builder's life: a page cached from another builder's view never
        # matches a revision of this one.
        self._next_rev = time.time_ns() // 1000
        self._maintenance: tuple[object, Maintenance | None] = (None, None)
        self._closed: dict[str, tuple[tuple[Day, ...], tuple[tuple[float, float], ...]]] = {}
        self._closed_key: tuple[float, bool] | None = None
        self._hours_for: tuple[object, dict[str, tuple[Hours, ...]]] = (None, {})

    def _windows(self, inventory: Inventory) -> list[Window]:
        spec = inventory.settings.alerting.maintenance
        if self._maintenance[0] is not spec:
            try:
                parsed: Maintenance | None = Maintenance(spec)
            except MaintenanceError as exc:  # the engine reports it; the board shows none
                log.warning("public board: maintenance windows not shown: %s", exc)
                parsed = None
            self._maintenance = (spec, parsed)
        got = self._maintenance[1]
        return got.windows if got is not None else []

    def build(self, inventory: Inventory, facts: EngineFacts, now: float) -> PublicView:
        """The view as of now (blocking: SQLite reads; run it in a worker thread)."""
        settings = inventory.settings.public
        tz = settings.timezone
        if self.history is not None:
            hist = self.history.read(now)
        else:
            spans = day_spans(now, tz)
            hist = HistoryFacts(days=spans, per_day=[{} for _ in spans])
        reports: dict[str, Reports] = {}
        if self.store is not None:
            reports = self.store.reports(now)
        windows = self._windows(inventory)
        villages: dict[str, VillageView] = {}
        for code, v in inventory.villages.items():
            f = facts.villages.get(code)
            state = f.state if f is not None else "unknown"
            cause = None
            if state in ("down", "degraded"):
                cause = public_cause(f.cause if f is not None else None)
            elif state == "maintenance":
                cause = "maintenance"
            days, uptime = self._days(code, hist)
            view = VillageView(
                code=code,
                name=v.name,
                kind=v.kind.value,
                district=v.district,
                regency=inventory.regency_code,
                lat=v.lat,
                lon=v.lon,
                state=state,
                since=hist.since.get(code) if state != "unknown" else None,
                cause=cause,
                outage_known=bool(f and f.outage_known),
                uptime=uptime,
                days=days,
                incidents=tuple(hist.incidents.get(code, ())[:MAX_INCIDENTS]),
                maintenance=windows_ahead(
                    windows, code, v.district, inventory.village_devices(code), now
                ),
                hours=self._hours(settings, code),
                reports=reports.get(code, Reports()),
                rev=prev.rev if (prev := self._prev.get(code)) is not None else 0,
            )
            villages[code] = self._revision(view, prev)
        self._prev = villages
        districts = {
            code: DistrictView(
                code,
                d.name,
                inventory.regency_code,
                tuple(c for c in d.villages if c in villages),
                rev=hash((d.name, *(villages[c].rev for c in d.villages if c in villages))),
            )
            for code, d in inventory.districts.items()
        }
        regency = RegencyView(
            inventory.regency_code,
            inventory.regency_name,
            tuple(districts),
            rev=hash((inventory.regency_name, *(d.rev for d in districts.values()))),
        )
        return PublicView(
            generated_at=now,
            minute=int(now // 60),
            language=settings.language or inventory.settings.language,
            timezone=tz,
            base_url=settings.base_url,
            history=hist.available,
            regencies={regency.code: regency},
            districts=districts,
            villages=villages,
            max_text_chars=settings.complaints.max_text_chars,
            refresh_seconds=settings.refresh_seconds,
            evaluation=facts.evaluation,
        )

    def _days(self, code: str, hist: HistoryFacts) -> tuple[tuple[Day, ...], Uptime]:
        """The 90 days and the uptime per period; days that are over are computed once."""
        if not hist.days:
            return (), (None, None, None, None)
        key = (hist.days[0].start, hist.available)
        if key != self._closed_key:
            self._closed, self._closed_key = {}, key
        closed = self._closed.get(code)
        if closed is None:
            days = tuple(
                _day(span, hist.per_day[i].get(code)) for i, span in enumerate(hist.days[:-1])
            )
            sums = []
            for n in PERIODS:  # the n - 1 days before today
                us = [d.get(code) for d in hist.per_day[len(hist.days) - n : -1]] if n > 1 else []
                sums.append(
                    (
                        sum(u.outage_seconds for u in us if u is not None),
                        sum(u.known_seconds for u in us if u is not None),
                    )
                )
            closed = self._closed[code] = (days, tuple(sums))
        today_u = hist.per_day[-1].get(code)
        today = _day(hist.days[-1], today_u)
        t_out = today_u.outage_seconds if today_u is not None else 0.0
        t_known = today_u.known_seconds if today_u is not None else 0.0
        uptime = tuple(_ratio_of(o + t_out, k + t_known) for o, k in closed[1])
        return (*closed[0], today), uptime  # type: ignore[return-value]

    def _hours(self, settings: PublicSettings, code: str) -> tuple[Hours, ...]:
        if self._hours_for[0] is not settings.wifi_hours:
            self._hours_for = (settings.wifi_hours, {})
        got = self._hours_for[1].get(code)
        if got is None:
            got = self._hours_for[1][code] = tuple(
                Hours(tuple(sorted(r.days)), r.start, r.end) for r in hours_for(settings, code)
            )
        return got

    def _revision(self, view: VillageView, prev: VillageView | None) -> VillageView:
        if prev is not None and prev == view:  # view carries prev's revision: equal = unchanged
            return prev
        rev = self._next_rev
        self._next_rev += 1
        return dataclasses.replace(view, rev=rev)
