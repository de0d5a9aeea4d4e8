"""Outage history for the board, read from the alert store without writing to it.

Per-day uptime comes from netwatch.alerting.report.uptime (the same numbers as `netwatch
report uptime`); a day that is over never changes, so it is computed once and kept.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sqlite3
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from netwatch.alerting.report import VillageUptime, uptime
from netwatch.alerting.store import AlertStore
from netwatch.public.texts import public_cause
from netwatch.public.view import Incident

log = logging.getLogger("netwatch.public")

DAYS = 90
_KIND = {"VillageWifiDown": "down", "VillageWifiDegraded": "degraded"}


@dataclass(frozen=True, slots=True)
class DaySpan:
    date: str
    start: float
    end: float


@dataclass(slots=True)
class HistoryFacts:
    days: list[DaySpan] = field(default_factory=list)  # oldest first, today last
    per_day: list[dict[str, VillageUptime]] = field(default_factory=list)  # parallel to days
    since: dict[str, float] = field(default_factory=dict)  # village → start of current state
    incidents: dict[str, list[Incident]] = field(default_factory=dict)  # newest first
    available: bool = False


def day_spans(now: float, tz: str, count: int = DAYS) -> list[DaySpan]:
    """The last `count` local days, today included, oldest first."""
    zone = ZoneInfo(tz)
    today = dt.datetime.fromtimestamp(now, zone).date()
    out = []
    for back in range(count - 1, -1, -1):
        d = today - dt.timedelta(days=back)
        start = dt.datetime.combine(d, dt.time(), zone).timestamp()
        end = dt.datetime.combine(d + dt.timedelta(days=1), dt.time(), zone).timestamp()
        out.append(DaySpan(d.isoformat(), start, end))
    return out


class History:
    """A query-only connection to the alert store and the days already computed."""

    def __init__(self, db_path: str, tz: str) -> None:
        self.db_path = db_path
        self.tz = tz
        self._conn: sqlite3.Connection | None = None
        self._closed_days: dict[float, dict[str, VillageUptime]] = {}
        self._version = -1
        self._since: dict[str, float] = {}
        self._incidents: dict[str, list[Incident]] = {}
        self._incidents_from = 0.0

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None:
            if not os.path.exists(self.db_path):
                return None  # alerting never ran here: no history (never create the file)
            uri = f"file:{self.db_path}?mode=rw"
            conn = sqlite3.connect(uri, uri=True, timeout=2.0, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            self._conn = conn
        return self._conn

    def read(self, now: float) -> HistoryFacts:
        """Days, current-state starts and incidents as of now; available=False if unreadable."""
        spans = day_spans(now, self.tz)
        try:
            conn = self._connect()
            if conn is None:
                return HistoryFacts(days=spans, per_day=[{} for _ in spans])
            per_day = [self._day(conn, s, now) for s in spans]
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
            horizon = spans[0].start
            if version != self._version or horizon != self._incidents_from:
                self._since = AlertStore(conn).current_since()
                self._incidents = self._read_incidents(conn, horizon)
                self._version, self._incidents_from = version, horizon
        except sqlite3.Error as exc:
            log.warning("public board: cannot read the alert history: %s", exc)
            self.close()
            return HistoryFacts(days=spans, per_day=[{} for _ in spans])
        keep = {s.start for s in spans}
        for start in [s for s in self._closed_days if s not in keep]:
            del self._closed_days[start]
        return HistoryFacts(spans, per_day, dict(self._since), self._incidents, True)

    def _day(self, conn: sqlite3.Connection, span: DaySpan, now: float) -> dict[str, VillageUptime]:
        if span.end <= now:
            got = self._closed_days.get(span.start)
            if got is None:
                got = self._closed_days[span.start] = _uptime(conn, span.start, span.end, span.end)
            return got
        return _uptime(conn, span.start, span.end, now)

    @staticmethod
    def _read_incidents(conn: sqlite3.Connection, horizon: float) -> dict[str, list[Incident]]:
        out: dict[str, list[Incident]] = {}
        rows = AlertStore(conn).village_incidents(horizon)
        for name, labels, starts_at, ends_at, cause, suppressed_by in rows:
            code = json.loads(labels).get("village")
            if not code:
                continue
            held = (suppressed_by or "").startswith("maintenance:")
            key = "maintenance" if held else public_cause(cause)
            out.setdefault(code, []).append(Incident(starts_at, ends_at, _KIND[name], key))
        return out

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _uptime(
    conn: sqlite3.Connection, start: float, end: float, now: float
) -> dict[str, VillageUptime]:
    """Per-village uptime in [start, end) from the engine's recorded state intervals."""
    return uptime(AlertStore(conn).state_intervals(start, end), start, end, now)
