"""Silences: label matchers with a time range, written by the CLI, read by the engine."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from netwatch.alerting.store import transaction

MATCHABLE = ("alertname", "village", "district", "device", "severity")


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    matchers: dict[str, str]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.matchers.items())


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
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO silences(matchers, starts_at, ends_at, created_by, comment, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (json.dumps(matchers, sort_keys=True), starts_at, ends_at, created_by, comment, now),
        )
    return int(cur.lastrowid or 0)


def expire(conn: sqlite3.Connection, silence_id: int, now: float) -> bool:
    """End a silence now; False when no such active silence."""
    with transaction(conn):
        cur = conn.execute(
            "UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?",
            (now, silence_id, now),
        )
    return cur.rowcount == 1


def load(conn: sqlite3.Connection, now: float, include_ended: bool = False) -> list[Silence]:
    """Silences not yet ended (or all of them)."""
    since = float("-inf") if include_ended else now
    rows = conn.execute("SELECT * FROM silences WHERE ends_at > ? ORDER BY id", (since,)).fetchall()
    return [
        Silence(
            r["id"],
            json.loads(r["matchers"]),
            r["starts_at"],
            r["ends_at"],
            r["created_by"],
            r["comment"],
        )
        for r in rows
    ]
