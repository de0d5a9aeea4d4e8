"""The notification outbox: the engine enqueues in its own transaction, notifiers deliver.

Table and enqueue are the contract with the notifiers (branch `notifiers`), who own delivery,
routing and retries; one row per (notification, receiver) once routed. The engine inserts rows
with receiver '' (not routed yet); the id is the notification's idempotency key, so a replayed
enqueue is a no-op and nothing is ever sent twice.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from typing import Any

from netwatch.alerting.types import Alert, Event, Notification

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    created_at REAL,
    event TEXT,
    payload TEXT,
    receiver TEXT,
    attempts INT,
    next_attempt REAL,
    delivered_at REAL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(next_attempt) WHERE delivered_at IS NULL;
"""


def to_payload(notification: Notification) -> str:
    """JSON of a Notification (tuples become lists)."""
    return json.dumps(asdict(notification), sort_keys=True, ensure_ascii=False)


def from_payload(payload: str) -> Notification:
    """Rebuild a Notification from to_payload's JSON."""
    data: dict[str, Any] = json.loads(payload)
    a = data["alert"]
    alert = Alert(
        labels=dict(a["labels"]),
        starts_at=a["starts_at"],
        ends_at=a["ends_at"],
        cause=a["cause"],
        down_devices=tuple(a["down_devices"]),
        affected_villages=tuple(a["affected_villages"]),
        path_break=a["path_break"],
        acknowledged_by=a["acknowledged_by"],
    )
    return Notification(
        id=data["id"],
        event=Event(data["event"]),
        alert=alert,
        created_at=data["created_at"],
        escalation_level=data["escalation_level"],
        extra=dict(data["extra"]),
    )


class Outbox:
    """Enqueue side of the outbox; call inside the caller's transaction."""

    @staticmethod
    def enqueue(conn: sqlite3.Connection, notification: Notification) -> bool:
        """Insert once; False when this id was already enqueued."""
        cur = conn.execute(
            "INSERT OR IGNORE INTO outbox(id, created_at, event, payload, receiver, attempts,"
            " next_attempt, delivered_at, last_error) VALUES (?, ?, ?, ?, '', 0, ?, NULL, NULL)",
            (
                notification.id,
                notification.created_at,
                str(notification.event),
                to_payload(notification),
                notification.created_at,
            ),
        )
        return cur.rowcount == 1
