"""The outbox tables: every statement on `outbox` and `outbox_firing` (delivery in outbox.py).

Rows are written with the engine's connection, inside its transaction (`add`, `keep_firing`,
`forget_firing`); the delivery loop reads and marks them on a connection of its own.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from netwatch.alerting.routing import Receiver
    from netwatch.core.notifications import JSONObject

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,              -- notification id + '/' + receiver hash: idempotency key
    notification_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,        -- alert fingerprint: per-receiver order, AM supersede
    created_at REAL NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,            -- the Notification as JSON
    notifier TEXT NOT NULL,           -- alertmanager | webhook | telegram | email
    receiver TEXT NOT NULL,           -- JSON target; secrets only by reference
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    delivered_at REAL,
    dropped_at REAL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt)
    WHERE delivered_at IS NULL AND dropped_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_stream ON outbox (receiver, fingerprint)
    WHERE delivered_at IS NULL AND dropped_at IS NULL;
-- Alerts firing at a re-posting receiver (Alertmanager): re-posted until a resolve is enqueued.
CREATE TABLE IF NOT EXISTS outbox_firing (
    fingerprint TEXT NOT NULL,
    receiver TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (fingerprint, receiver)
);
"""

_PENDING = "delivered_at IS NULL AND dropped_at IS NULL"
HELD = "held: "  # last_error of a row the send gate holds (cluster: not the sender now)
# A row waits while an older row of the same receiver and alert is pending: a receiver never
# sees "resolved" before "firing" of the same alert.
_DUE = f"""
SELECT rowid, id, notifier, receiver, payload, attempts, fingerprint FROM outbox AS o
WHERE {_PENDING} AND next_attempt <= ?
  AND NOT EXISTS (SELECT 1 FROM outbox AS p WHERE p.receiver = o.receiver
                  AND p.fingerprint = o.fingerprint AND p.{_PENDING.replace(" AND ", " AND p.")}
                  AND p.rowid < o.rowid)
ORDER BY rowid LIMIT ?
"""


class Due(NamedTuple):
    """A row to send now."""

    rowid: int
    id: str
    notifier: str
    receiver: str
    payload: str
    attempts: int
    fingerprint: str


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the outbox tables if missing."""
    conn.executescript(SCHEMA)


# -- written in the engine's transaction ---------------------------------------------------------


def add(
    conn: sqlite3.Connection,
    row_id: str,
    notification_id: str,
    fingerprint: str,
    created_at: float,
    event: str,
    payload: str,
    notifier: str,
    receiver: str,
    not_before: float | None = None,
) -> bool:
    """Insert one row unless its id exists; True when added. not_before: first attempt."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO outbox (id, notification_id, fingerprint, created_at,"
        " event, payload, notifier, receiver, next_attempt) VALUES (?,?,?,?,?,?,?,?,?)",
        (row_id, notification_id, fingerprint, created_at, event, payload, notifier, receiver,
         created_at if not_before is None else not_before),
    )  # fmt: skip
    return cur.rowcount == 1


def keep_firing(conn: sqlite3.Connection, fingerprint: str, receiver: str, payload: str) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO outbox_firing (fingerprint, receiver, payload) VALUES (?,?,?)",
        (fingerprint, receiver, payload),
    )


def forget_firing(conn: sqlite3.Connection, fingerprint: str) -> None:
    conn.execute("DELETE FROM outbox_firing WHERE fingerprint = ?", (fingerprint,))


# -- the delivery loop's own connection ----------------------------------------------------------


def open_db(path: str) -> sqlite3.Connection:
    """A connection for the delivery loop: WAL so the engine's writes don't wait on reads."""
    conn = sqlite3.connect(path, timeout=10.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class OutboxStore:
    """Reads and marks rows for delivery; each mark commits at once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        create_schema(conn)

    def due(self, now: float, limit: int) -> list[Due]:
        return [Due(*r) for r in self.conn.execute(_DUE, (now, limit))]

    def claim(self, rid: str, attempts: int, next_attempt: float) -> None:
        """Written before the send: a crash from here on retries the row after the backoff."""
        with self.conn:
            self.conn.execute(
                "UPDATE outbox SET attempts = ?, next_attempt = ? WHERE id = ?",
                (attempts, next_attempt, rid),
            )

    def superseded(self, rid: str, receiver: str, fingerprint: str) -> bool:
        """Whether a newer row of the same receiver and alert exists."""
        cur = self.conn.execute(
            "SELECT 1 FROM outbox WHERE receiver = ? AND fingerprint = ? AND id != ?"
            " AND rowid > (SELECT rowid FROM outbox WHERE id = ?) LIMIT 1",
            (receiver, fingerprint, rid, rid),
        )
        return cur.fetchone() is not None

    def newest_pending(self, rowid: int, receiver: str, fingerprint: str) -> str | None:
        """The payload of the newest pending row of the same receiver and alert after rowid."""
        cur = self.conn.execute(
            f"SELECT payload FROM outbox WHERE receiver = ? AND fingerprint = ? AND {_PENDING}"
            " AND rowid > ? ORDER BY rowid DESC LIMIT 1",
            (receiver, fingerprint, rowid),
        )
        found = cur.fetchone()
        return None if found is None else str(found[0])

    def delivered(self, rid: str, at: float, note: str | None) -> None:
        with self.conn:
            self.conn.execute(
                "UPDATE outbox SET delivered_at = ?, last_error = ? WHERE id = ?", (at, note, rid)
            )

    def retry(self, rid: str, next_attempt: float, error: str) -> None:
        with self.conn:
            self.conn.execute(
                "UPDATE outbox SET next_attempt = ?, last_error = ? WHERE id = ?",
                (next_attempt, error[:500], rid),
            )

    def drop(self, rid: str, at: float, error: str) -> None:
        with self.conn:
            self.conn.execute(
                "UPDATE outbox SET dropped_at = ?, last_error = ? WHERE id = ?",
                (at, error[:500], rid),
            )

    def expire(
        self, now: float, cutoff: float, purge_before: float | None
    ) -> list[tuple[str, int]]:
        """Drop pending rows created before cutoff, purge done rows; (notifier, count) dropped."""
        with self.conn:
            counts = self.conn.execute(
                f"SELECT notifier, count(*) FROM outbox WHERE {_PENDING} AND created_at < ?"
                " GROUP BY notifier",
                (cutoff,),
            ).fetchall()
            if counts:
                self.conn.execute(
                    f"UPDATE outbox SET dropped_at = ?, last_error = 'expired: ' ||"
                    f" coalesce(last_error, 'never attempted') WHERE {_PENDING}"
                    " AND created_at < ?",
                    (now, cutoff),
                )
            if purge_before is not None:
                self.conn.execute(
                    "DELETE FROM outbox WHERE coalesce(delivered_at, dropped_at) < ?",
                    (purge_before,),
                )
        return [(str(n), int(c)) for n, c in counts]

    def pending(self) -> tuple[int, float | None]:
        """(rows pending, oldest created_at)."""
        count, oldest = self.conn.execute(
            f"SELECT count(*), min(created_at) FROM outbox WHERE {_PENDING}"
        ).fetchone()
        return int(count), oldest

    def held(self) -> int:
        """Pending rows the send gate holds."""
        (count,) = self.conn.execute(
            f"SELECT count(*) FROM outbox WHERE {_PENDING} AND last_error LIKE ?", (HELD + "%",)
        ).fetchone()
        return int(count)

    def firing_receivers(self) -> list[tuple[str, str]]:
        """(notifier, receiver) of every receiver with alerts firing there."""
        rows = self.conn.execute("SELECT DISTINCT receiver FROM outbox_firing").fetchall()
        return [(_notifier(r), r) for (r,) in rows]

    def firing_payloads(self, receiver: str) -> Iterator[str]:
        for (p,) in self.conn.execute(
            "SELECT payload FROM outbox_firing WHERE receiver = ?", (receiver,)
        ).fetchall():
            yield p


def row_id(notification_id: str, receiver: Receiver) -> str:
    return f"{notification_id}/{hashlib.sha256(receiver.key.encode()).hexdigest()[:12]}"


def target_of(receiver: str) -> JSONObject:
    """The notifier's part of a stored receiver."""
    data = json.loads(receiver)
    if not isinstance(data, dict):
        raise ValueError(f"stored receiver is not a JSON object: {receiver[:80]}")
    data.pop("notifier", None)
    return data


def _notifier(receiver: str) -> str:
    value = json.loads(receiver).get("notifier")
    return value if isinstance(value, str) else ""
