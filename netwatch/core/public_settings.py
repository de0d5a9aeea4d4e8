"""settings.public: the public board's listener, complaint box limits and office Wi-Fi hours.

Standalone on purpose (nothing but the standard library): netwatch.core.model imports it;
netwatch.public reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(
    r"(?:(?P<days>[a-z]{3}(?:-[a-z]{3})?(?:,[a-z]{3}(?:-[a-z]{3})?)*)\s+)?"
    r"(?P<start>\d{2}:\d{2})-(?P<end>\d{2}:\d{2})"
)
ALL_DAY = "24h"
CODE = re.compile(r"\d{2}(?:\.\d{2}(?:\.\d{2}(?:\.[123]\d{3})?)?)?")


@dataclass(frozen=True, slots=True)
class HoursRule:
    """Open on these weekdays (Monday = 0) from start to end, minutes after local midnight."""

    days: frozenset[int]
    start: int
    end: int  # 1440 = midnight at the end of the day


def parse_hours(text: str) -> tuple[HoursRule, ...]:
    """'24h' | '07:00-21:00' | 'mon-fri 07:00-16:00, sat 07:00-12:00'; raises ValueError."""
    s = text.strip().lower()
    every = frozenset(range(7))
    if s == ALL_DAY:
        return (HoursRule(every, 0, 1440),)
    # Day lists hold commas too ("mon,wed 08:00-12:00"): read range by range, not by comma.
    rules: list[HoursRule] = []
    pos = 0
    for m in _RULE.finditer(s):
        gap = s[pos : m.start()].strip(" ,;")
        if gap:
            raise ValueError(f"{text!r}: cannot read {gap!r}")
        pos = m.end()
        days = _days(m.group("days"), text) if m.group("days") else every
        start, end = _minute(m.group("start"), text), _minute(m.group("end"), text)
        if end <= start:
            raise ValueError(f"{text!r}: {m.group('end')} is not after {m.group('start')}")
        rules.append(HoursRule(days, start, end))
    if not rules or s[pos:].strip(" ,;"):
        raise ValueError(
            f"{text!r} is not office hours (examples: 24h, 07:00-21:00, "
            "mon-fri 07:00-16:00, sat 07:00-12:00)"
        )
    return tuple(rules)


def _minute(hhmm: str, text: str) -> int:
    h, m = int(hhmm[:2]), int(hhmm[3:])
    if h == 24 and m == 0:
        return 1440
    if h > 23 or m > 59:
        raise ValueError(f"{text!r}: {hhmm} is not a time of day")
    return h * 60 + m


def _days(spec: str, text: str) -> frozenset[int]:
    out: set[int] = set()
    for item in spec.split(","):
        first, _, last = item.partition("-")
        for d in (first, last or first):
            if d not in DAYS:
                raise ValueError(f"{text!r}: unknown day {d!r}; use {', '.join(DAYS)}")
        a, b = DAYS.index(first), DAYS.index(last or first)
        out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(out)


def _check_listen(value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port (e.g. 127.0.0.1:9109)")


def _check_base_url(value: str) -> None:
    if value and not re.fullmatch(r"https?://[A-Za-z0-9.\-\[\]:]+(/[\w.\-~/]*)?", value):
        raise ValueError(f"{value!r} is not an http(s) URL such as https://wifi.example.go.id/")


def _at_least(low: float) -> dict[str, Any]:
    def check(value: float) -> None:
        if value < low:
            raise ValueError(f"{value:g} must be >= {low:g}")

    return {"check": check}


@dataclass(frozen=True, slots=True)
class ComplaintLimits:
    """Abuse limits of the complaint box (docs/public-board.md)."""

    per_address: int = field(default=5, metadata=_at_least(1))  # per window, one address (/64)
    per_village: int = field(default=30, metadata=_at_least(1))  # per window, one village
    total: int = field(default=600, metadata=_at_least(1))  # per window, the whole board
    window: float = field(default=3600.0, metadata=_at_least(1))  # seconds
    min_fill_seconds: float = field(default=3.0, metadata=_at_least(0))  # form open at least
    max_form_age: float = field(default=7200.0, metadata=_at_least(60))  # form token lifetime
    max_text_chars: int = field(default=500, metadata=_at_least(0))


@dataclass(frozen=True, slots=True)
class PublicSettings:
    """The public board (off unless enabled; `netwatch demo` turns it on)."""

    enabled: bool = False
    listen: str = field(default="127.0.0.1:9109", metadata={"check": _check_listen})
    base_url: str = field(default="", metadata={"check": _check_base_url})  # for QR codes
    language: Literal["id", "en"] | None = None  # None = settings.language
    timezone: str = "Asia/Jakarta"
    complaints_db: str = "netwatch-complaints.sqlite3"  # relative = beside the config file
    cache_seconds: float = field(default=10.0, metadata=_at_least(0))  # Cache-Control max-age
    refresh_seconds: float = field(default=60.0, metadata=_at_least(5))  # pages, where JS runs
    trusted_proxies: tuple[str, ...] = ()  # addresses whose X-Forwarded-For is believed
    # regency/district/village code → office hours; the most specific code wins. Checked
    # against the inventory, each entry at its own line, by netwatch.config.public_hours.
    wifi_hours: dict[str, str] = field(default_factory=lambda: {})
    complaints: ComplaintLimits = field(default_factory=ComplaintLimits)


def hours_for(settings: PublicSettings, village: str) -> tuple[HoursRule, ...]:
    """Office Wi-Fi hours of a village: its own entry, its district's, its regency's, or 24h."""
    parts = village.split(".")
    for n in range(len(parts), 0, -1):
        text = settings.wifi_hours.get(".".join(parts[:n]))
        if text is not None:
            return parse_hours(text)
    return parse_hours(ALL_DAY)


def unknown_codes(
    wifi_hours: Mapping[str, Any],
    regencies: Iterable[str],
    districts: Iterable[str],
    villages: Iterable[str],
) -> list[str]:
    """Codes of wifi_hours that name no province, regency, district or village of the
    inventory (Kemendagri codes nest: a regency's code starts with its province's)."""
    known = {*districts, *villages}
    for regency in regencies:
        known.add(regency)
        known.add(regency.split(".")[0])
    return [c for c in wifi_hours if str(c) not in known]


def demo_inventory(inventory: Any, listen: str, state_dir: str) -> Any:
    """The demo's inventory with the board on at listen, its complaints in state_dir."""
    import dataclasses
    import os

    public = dataclasses.replace(
        inventory.settings.public,
        enabled=True,
        listen=listen,
        complaints_db=os.path.join(state_dir, "complaints.sqlite3"),
    )
    settings = dataclasses.replace(inventory.settings, public=public)
    return dataclasses.replace(inventory, settings=settings)
