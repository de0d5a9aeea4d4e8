"""Notifications and settings for the notifier tests (inputs, not expectations)."""

from __future__ import annotations

import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from netwatch.alerting.outbox import Outbox
from netwatch.alerting.types import Alert, Event, Notification
from netwatch.core.notifications import (
    ContactList,
    DeliverySettings,
    NotificationRoute,
    NotificationSettings,
)

# 28 Nov 2026 10:05 WIB (UTC+7) = 03:05 UTC.
STARTS = datetime(2026, 11, 28, 3, 5, tzinfo=UTC).timestamp()

FAST = DeliverySettings(
    min_backoff=0.1, max_backoff=0.4, max_age=3600.0, timeout=3.0, concurrency=4, poll_interval=0.05
)


def village_alert(
    code: str = "35.10.01.2001",
    name: str = "Sarongan",
    severity: str = "critical",
    ends_at: float | None = None,
    **kw: Any,
) -> Alert:
    labels = {
        "alertname": "VillageWifiDown",
        "severity": severity,
        "village": code,
        "village_name": name,
        "district": code.rsplit(".", 1)[0],
        "district_name": "Pesanggaran",
    }
    return Alert(labels=labels, starts_at=STARTS, ends_at=ends_at, **kw)


def notification(
    nid: str, event: Event = Event.FIRING, alert: Alert | None = None, **kw: Any
) -> Notification:
    alert = alert or village_alert()
    kw.setdefault("created_at", time.time())
    return Notification(id=nid, event=event, alert=alert, **kw)


def settings(*contacts: ContactList, **kw: Any) -> NotificationSettings:
    kw.setdefault("delivery", FAST)
    kw.setdefault("routes", (NotificationRoute(contacts=contacts[0].name),) if contacts else ())
    return NotificationSettings(contacts=contacts, **kw)


def make_outbox(tmp_path: Path, s: NotificationSettings, **kw: Any) -> Outbox:
    return Outbox(str(tmp_path / "alerts.db"), s, **kw)


def enqueue(outbox: Outbox, db: Path, *ns: Notification) -> int:
    """As the engine does: enqueue inside its own transaction, then commit."""
    conn = sqlite3.connect(db)
    try:
        with conn:
            added = sum(outbox.enqueue(conn, n) for n in ns)
    finally:
        conn.close()
    outbox.wake()
    return added
