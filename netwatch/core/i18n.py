"""Dates, times and durations for people, in Bahasa Indonesia (default) or English."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

LANGUAGES = ("id", "en")

_MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
# Indonesia's own zone abbreviations; tzdata gives only "+07" etc. for these.
_ZONE_NAMES = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA"}
_ZONE_NAMES["Asia/Jayapura"] = "WIT"

_UNITS = {
    "id": (("hari", "hari"), ("jam", "jam"), ("menit", "menit")),
    "en": (("day", "days"), ("hour", "hours"), ("minute", "minutes")),
}
_UNDER_A_MINUTE = {"id": "kurang dari 1 menit", "en": "less than a minute"}


def check_language(language: str) -> str:
    """Return language if supported, else raise ValueError naming the choices."""
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; choose one of {', '.join(LANGUAGES)}")
    return language


def zone_name(tz: str, moment: datetime) -> str:
    return _ZONE_NAMES.get(tz) or moment.tzname() or tz


def format_datetime(ts: float, language: str, tz: str = "Asia/Jakarta") -> str:
    """28 Nov 2026 10:05 WIB."""
    moment = datetime.fromtimestamp(ts, ZoneInfo(tz))
    month = _MONTHS[language][moment.month - 1]
    return f"{moment.day} {month} {moment.year} {moment:%H:%M} {zone_name(tz, moment)}"


def format_time(ts: float, tz: str = "Asia/Jakarta") -> str:
    """10:05 WIB (same for both languages)."""
    moment = datetime.fromtimestamp(ts, ZoneInfo(tz))
    return f"{moment:%H:%M} {zone_name(tz, moment)}"


def format_duration(seconds: float, language: str) -> str:
    """12 menit / 1 jam 5 menit / 2 hari 3 jam: two largest units, whole minutes."""
    minutes = int(max(seconds, 0) // 60)
    if minutes == 0:
        return _UNDER_A_MINUTE[language]
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = []
    for value, (one, many) in zip((days, hours, mins), _UNITS[language], strict=True):
        if value:
            parts.append(f"{value} {one if value == 1 else many}")
    return " ".join(parts[:2])


def join_list(items: list[str], language: str, limit: int = 10) -> str:
    """a, b, c dan 2 lainnya / a, b, c and 2 more."""
    shown = items[:limit]
    text = ", ".join(shown)
    more = len(items) - len(shown)
    if more:
        text += f" dan {more} lainnya" if language == "id" else f" and {more} more"
    return text
