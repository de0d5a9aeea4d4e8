"""Maintenance windows: one-off or weekly, matched by village, district, device or tag.

A window only holds back notifications; monitoring, alert state and history go on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from netwatch.core.model import Device, MaintenanceWindow

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class MaintenanceError(ValueError):
    """A window that cannot be understood; the message names the window and its source."""


@dataclass(frozen=True, slots=True)
class Window:
    """A parsed MaintenanceWindow."""

    spec: MaintenanceWindow
    tz: dt.tzinfo
    start_at: float | None  # one-off, unix seconds
    end_at: float | None
    days: frozenset[int]  # recurring: weekday numbers, Monday = 0
    start_min: int  # recurring: minutes after local midnight
    end_min: int

    def active(self, now: float) -> bool:
        if self.start_at is not None and self.end_at is not None:
            return self.start_at <= now < self.end_at
        local = dt.datetime.fromtimestamp(now, self.tz)
        minute = local.hour * 60 + local.minute
        today = local.weekday()
        if self.start_min < self.end_min:
            return today in self.days and self.start_min <= minute < self.end_min
        # Crosses midnight: the evening part belongs to a listed day, the morning to its next day.
        if today in self.days and minute >= self.start_min:
            return True
        return (today - 1) % 7 in self.days and minute < self.end_min

    def matches(self, village: str | None, district: str | None, devices: Iterable[Device]) -> bool:
        s = self.spec
        if not (s.villages or s.districts or s.devices or s.tags):
            return True  # a window with no scope covers the whole regency
        if village is not None and village in s.villages:
            return True
        if district is not None and district in s.districts:
            return True
        return any(d.name in s.devices or any(t in s.tags for t in d.tags) for d in devices)


def _where(spec: MaintenanceWindow) -> str:
    return f"maintenance window {spec.name!r}" + (f" ({spec.source})" if spec.source else "")


def _hhmm(text: str, spec: MaintenanceWindow) -> int:
    try:
        t = dt.time.fromisoformat(text)
    except ValueError:
        raise MaintenanceError(f"{_where(spec)}: time {text!r} is not HH:MM") from None
    return t.hour * 60 + t.minute


def parse(spec: MaintenanceWindow) -> Window:
    """Validate and parse one window; raises MaintenanceError naming it."""
    try:
        tz: dt.tzinfo = ZoneInfo(spec.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise MaintenanceError(f"{_where(spec)}: unknown timezone {spec.timezone!r}") from None
    if spec.days:
        bad = [d for d in spec.days if d.lower()[:3] not in DAYS]
        if bad:
            raise MaintenanceError(f"{_where(spec)}: unknown day(s) {bad}; use {', '.join(DAYS)}")
        days = frozenset(DAYS.index(d.lower()[:3]) for d in spec.days)
        start, end = _hhmm(spec.start, spec), _hhmm(spec.end, spec)
        if start == end:
            raise MaintenanceError(f"{_where(spec)}: start and end are equal")
        return Window(spec, tz, None, None, days, start, end)
    try:
        a = dt.datetime.fromisoformat(spec.start)
        b = dt.datetime.fromisoformat(spec.end)
    except ValueError as exc:
        raise MaintenanceError(
            f"{_where(spec)}: one-off windows need ISO date-times (2026-12-01T22:00): {exc}"
        ) from None
    a = a if a.tzinfo else a.replace(tzinfo=tz)
    b = b if b.tzinfo else b.replace(tzinfo=tz)
    if b <= a:
        raise MaintenanceError(f"{_where(spec)}: end is not after start")
    return Window(spec, tz, a.timestamp(), b.timestamp(), frozenset(), 0, 0)


class Maintenance:
    """All configured windows; answers 'is this village/device in maintenance now'."""

    def __init__(self, specs: Iterable[MaintenanceWindow]) -> None:
        self.windows = [parse(s) for s in specs]

    def active(
        self, now: float, village: str | None, district: str | None, devices: Iterable[Device]
    ) -> str | None:
        """Name of an active window covering the target, else None."""
        devs = list(devices)
        for w in self.windows:
            if w.active(now) and w.matches(village, district, devs):
                return w.spec.name
        return None
