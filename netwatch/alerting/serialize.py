"""Notification ↔ JSON, for the outbox rows and the webhook body."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from netwatch.alerting.types import Alert, Event, Notification


def iso(ts: float) -> str:
    """RFC 3339 UTC with milliseconds, as Alertmanager writes it."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    return {
        "labels": dict(alert.labels),
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "cause": alert.cause,
        "down_devices": list(alert.down_devices),
        "affected_villages": list(alert.affected_villages),
        "path_break": alert.path_break,
        "acknowledged_by": alert.acknowledged_by,
    }


def notification_to_dict(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "event": n.event.value,
        "created_at": n.created_at,
        "escalation_level": n.escalation_level,
        "extra": dict(n.extra),
        "alert": alert_to_dict(n.alert),
    }


def notification_from_dict(d: dict[str, Any]) -> Notification:
    a = d["alert"]
    alert = Alert(
        labels=dict(a["labels"]),
        starts_at=float(a["starts_at"]),
        ends_at=None if a.get("ends_at") is None else float(a["ends_at"]),
        cause=a.get("cause"),
        down_devices=tuple(a.get("down_devices", ())),
        affected_villages=tuple(a.get("affected_villages", ())),
        path_break=a.get("path_break"),
        acknowledged_by=a.get("acknowledged_by"),
    )
    return Notification(
        id=d["id"],
        event=Event(d["event"]),
        alert=alert,
        created_at=float(d["created_at"]),
        escalation_level=int(d.get("escalation_level", 0)),
        extra=dict(d.get("extra", {})),
    )


def dumps(n: Notification) -> str:
    return json.dumps(notification_to_dict(n), ensure_ascii=False, sort_keys=True)


def loads(text: str) -> Notification:
    return notification_from_dict(json.loads(text))
