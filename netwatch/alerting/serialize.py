"""Notification ↔ JSON, for the outbox rows and the webhook body."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from netwatch.alerting.types import Alert, Event, Notification
from netwatch.core.notifications import JSONObject, JSONValue


def iso(ts: float) -> str:
    """RFC 3339 UTC with milliseconds, as Alertmanager writes it."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alert_to_dict(alert: Alert) -> JSONObject:
    return {
        "labels": dict[str, JSONValue](alert.labels),
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "cause": alert.cause,
        "down_devices": list[JSONValue](alert.down_devices),
        "affected_villages": list[JSONValue](alert.affected_villages),
        "path_break": alert.path_break,
        "acknowledged_by": alert.acknowledged_by,
        "complaints": alert.complaints,
    }


def notification_to_dict(n: Notification) -> JSONObject:
    return {
        "id": n.id,
        "event": n.event.value,
        "created_at": n.created_at,
        "escalation_level": n.escalation_level,
        "extra": dict[str, JSONValue](n.extra),
        "alert": alert_to_dict(n.alert),
    }


def _object(v: JSONValue) -> JSONObject:
    if not isinstance(v, dict):
        raise ValueError(f"expected a JSON object, not {type(v).__name__}")
    return v


def _strings(v: JSONValue) -> dict[str, str]:
    return {k: str(x) for k, x in _object(v).items()}


def _number(v: JSONValue) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise ValueError(f"expected a number, not {v!r}")
    return float(v)


def _text(v: JSONValue) -> str | None:
    return None if v is None else str(v)


def _names(v: JSONValue) -> tuple[str, ...]:
    return tuple(str(x) for x in v) if isinstance(v, list) else ()


def notification_from_dict(d: JSONObject) -> Notification:
    a = _object(d["alert"])
    ends_at = a.get("ends_at")
    alert = Alert(
        labels=_strings(a["labels"]),
        starts_at=_number(a["starts_at"]),
        ends_at=None if ends_at is None else _number(ends_at),
        cause=_text(a.get("cause")),
        down_devices=_names(a.get("down_devices")),
        affected_villages=_names(a.get("affected_villages")),
        path_break=_text(a.get("path_break")),
        acknowledged_by=_text(a.get("acknowledged_by")),
        complaints=int(_number(a.get("complaints", 0))),
    )
    return Notification(
        id=str(d["id"]),
        event=Event(str(d["event"])),
        alert=alert,
        created_at=_number(d["created_at"]),
        escalation_level=int(_number(d.get("escalation_level", 0))),
        extra=_strings(d.get("extra", {})),
    )


def dumps(n: Notification) -> str:
    return json.dumps(notification_to_dict(n), ensure_ascii=False, sort_keys=True)


def loads(text: str) -> Notification:
    return notification_from_dict(_object(json.loads(text)))
