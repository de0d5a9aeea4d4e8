"""Per-village uptime over a period, from the recorded village state history."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from netwatch.alerting.records import StateInterval

OUTAGE = ("down", "unreachable-upstream")


@dataclass(slots=True)
class VillageUptime:
    village: str
    village_name: str = ""
    district: str = ""
    district_name: str = ""
    regency: str = ""
    regency_name: str = ""
    outage_seconds: float = 0.0
    outages: int = 0  # outage episodes overlapping the period (adjacent outage states merge)
    longest_outage_seconds: float = 0.0
    degraded_seconds: float = 0.0
    known_seconds: float = 0.0  # time with a recorded state; the rest is no data
    period_seconds: float = 0.0

    @property
    def uptime_ratio(self) -> float | None:
        """1 - outage / observed time; None when nothing was observed in the period."""
        if self.known_seconds <= 0:
            return None
        return max(0.0, 1.0 - self.outage_seconds / self.known_seconds)

    @property
    def no_data_seconds(self) -> float:
        return max(0.0, self.period_seconds - self.known_seconds)


def uptime(
    intervals: Iterable[StateInterval],
    start: float,
    end: float,
    now: float,
    villages: Iterable[str] | None = None,
) -> dict[str, VillageUptime]:
    """Uptime of each village in [start, end) from its state intervals (store.state_intervals,
    by village then time); villages=None means every village in the history."""
    if end <= start:
        raise ValueError("the report period must end after it starts")
    period = end - start
    out: dict[str, VillageUptime] = {}
    if villages is not None:
        for code in villages:
            out[code] = VillageUptime(code, period_seconds=period)
    episode_end: dict[str, float] = {}  # village → end of the outage episode being summed
    episode_len: dict[str, float] = {}
    for i in intervals:
        village, state, since, until = i.village, i.state, i.since, i.until
        if villages is not None and village not in out:
            continue
        u = out.setdefault(village, VillageUptime(village, period_seconds=period))
        a = max(since, start)
        b = min(until if until is not None else now, end)
        if b <= a:
            continue
        u.known_seconds += b - a
        if state == "degraded":
            u.degraded_seconds += b - a
        if state in OUTAGE:
            u.outage_seconds += b - a
            if episode_end.get(village) == a:  # continues the previous outage row
                episode_len[village] += b - a
            else:
                u.outages += 1
                episode_len[village] = b - a
            episode_end[village] = b
            u.longest_outage_seconds = max(u.longest_outage_seconds, episode_len[village])
    return out


def _pct(u: VillageUptime) -> str:
    r = u.uptime_ratio
    return "" if r is None else f"{100 * r:.3f}"


def _dur(seconds: float) -> str:
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m{sec:02d}s"


COLUMNS = (
    "village",
    "village_name",
    "district",
    "district_name",
    "regency",
    "regency_name",
    "uptime_percent",
    "outages",
    "outage_seconds",
    "longest_outage_seconds",
    "degraded_seconds",
    "no_data_seconds",
)


def _row(u: VillageUptime) -> list[str]:
    return [
        u.village,
        u.village_name,
        u.district,
        u.district_name,
        u.regency,
        u.regency_name,
        _pct(u),
        str(u.outages),
        f"{u.outage_seconds:.0f}",
        f"{u.longest_outage_seconds:.0f}",
        f"{u.degraded_seconds:.0f}",
        f"{u.no_data_seconds:.0f}",
    ]


def to_csv(rows: Iterable[VillageUptime]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for u in rows:
        w.writerow(_row(u))
    return buf.getvalue()


def to_markdown(rows: Iterable[VillageUptime], title: str) -> str:
    rows = list(rows)
    several = len({u.regency for u in rows}) > 1  # a Regency column only when it tells apart
    head = ["Village", "Name", "District", "Uptime %", "Outages", "Outage time", "Longest"]
    head[3:3] = ["Regency"] if several else []
    lines = [f"# {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for u in rows:
        cells = [
            u.village,
            u.village_name,
            u.district_name or u.district,
            *([u.regency_name or u.regency] if several else []),
            _pct(u) or "no data",
            str(u.outages),
            _dur(u.outage_seconds),
            _dur(u.longest_outage_seconds),
        ]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    return "\n".join(lines) + "\n"
