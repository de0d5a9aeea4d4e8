"""The `alert_complaints` table: which residents' complaint is attached to which alert.

The alert database is the truth about attachments: a link is written in the evaluation's
transaction, with the alert it names, so a killed process never counts a complaint twice or
loses one. Keyed by the complaint's number and time (a recreated complaint store reuses numbers).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_complaints (
    complaint_id INTEGER NOT NULL,   -- its number in the complaint store
    received_at REAL NOT NULL,
    alert_id INTEGER NOT NULL,
    village TEXT NOT NULL,
    linked_at REAL NOT NULL,
    PRIMARY KEY (complaint_id, received_at)
);
CREATE INDEX IF NOT EXISTS alert_complaints_alert ON alert_complaints (alert_id);
CREATE INDEX IF NOT EXISTS alert_complaints_received ON alert_complaints (received_at);
"""

Key = tuple[int, float]  # (complaint number, received at)


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the table if missing (with the engine's other tables, before any transaction)."""
    conn.executescript(SCHEMA)


def links_since(conn: sqlite3.Connection, since: float) -> dict[Key, int]:
    """Complaints received at or after since that are attached, → their alert's id."""
    rows = conn.execute(
        "SELECT complaint_id, received_at, alert_id FROM alert_complaints WHERE received_at >= ?",
        (since,),
    )
    return {(int(r[0]), float(r[1])): int(r[2]) for r in rows}


def linked_since(conn: sqlite3.Connection, since: float) -> dict[Key, int]:
    """Links made at or after since, → their alert's id (to tell the complaint store again)."""
    rows = conn.execute(
        "SELECT complaint_id, received_at, alert_id FROM alert_complaints WHERE linked_at >= ?",
        (since,),
    )
    return {(int(r[0]), float(r[1])): int(r[2]) for r in rows}


def counts(conn: sqlite3.Connection, alert_ids: Iterable[int]) -> dict[int, int]:
    """Complaints attached to each of these alerts (absent: none)."""
    ids = [int(i) for i in alert_ids]
    out: dict[int, int] = {}
    for start in range(0, len(ids), 500):  # SQLite's bound-parameter limit
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT alert_id, COUNT(*) FROM alert_complaints WHERE alert_id IN ({marks})"
            " GROUP BY alert_id",
            chunk,
        )
        out.update((int(a), int(n)) for a, n in rows)
    return out


def link(conn: sqlite3.Connection, key: Key, village: str, alert_id: int, now: float) -> bool:
    """Attach one complaint to an alert; False if it was attached already."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO alert_complaints(complaint_id, received_at, alert_id, village,"
        " linked_at) VALUES (?, ?, ?, ?, ?)",
        (key[0], key[1], alert_id, village, now),
    )
    return cur.rowcount == 1
