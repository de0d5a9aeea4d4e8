"""Silences: label matchers with a time range, written by the CLI, read by the engine."""

from __future__ import annotations

import sqlite3

from netwatch.alerting.records import Silence
from netwatch.alerting.store import AlertStore

MATCHABLE = ("alertname", "village", "district", "device", "severity")

__all__ = ["MATCHABLE", "Silence", "add", "expire", "load"]


def add(
    conn: sqlite3.Connection,
    matchers: dict[str, str],
    starts_at: float,
    ends_at: float,
    created_by: str,
    comment: str,
    now: float,
) -> int:
    """Store a silence; raises ValueError on an empty or unknown matcher or a bad range."""
    if not matchers:
        raise ValueError("a silence needs at least one matcher (--village, --district, ...)")
    unknown = sorted(set(matchers) - set(MATCHABLE))
    if unknown:
        raise ValueError(f"unknown silence matcher(s) {unknown}; use {', '.join(MATCHABLE)}")
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    return AlertStore(conn).add_silence(matchers, starts_at, ends_at, created_by, comment, now)


def expire(conn: sqlite3.Connection, silence_id: int, now: float) -> bool:
    """End a silence now; False when no such active silence."""
    return AlertStore(conn).expire_silence(silence_id, now)


def load(conn: sqlite3.Connection, now: float, include_ended: bool = False) -> list[Silence]:
    """Silences not yet ended (or all of them)."""
    return AlertStore(conn).silences(now, include_ended)
