"""Alertmanager API v2: POST /api/v2/alerts, idempotent by label set (its fingerprint)."""

from __future__ import annotations

from typing import Any

from netwatch.alerting.notifiers.base import Context, post_json
from netwatch.alerting.serialize import iso
from netwatch.alerting.types import Event, Notification


def closes(n: Notification) -> bool:
    """Whether n ends the alert at Alertmanager (a resolve, or flapping noticed on a resolve)."""
    return n.event is Event.RESOLVED or n.alert.ends_at is not None


def am_alert(ctx: Context, n: Notification) -> dict[str, Any]:
    """One postableAlert: labels as the engine set them, texts as annotations."""
    msg = ctx.message(n)
    alert: dict[str, Any] = {
        "labels": dict(n.alert.labels),
        "annotations": {"summary": msg.subject, "description": msg.text},
        "startsAt": iso(n.alert.starts_at),
    }
    if n.alert.cause:
        alert["annotations"]["cause"] = n.alert.cause
    if closes(n):
        alert["endsAt"] = iso(n.alert.ends_at if n.alert.ends_at is not None else n.created_at)
    link = ctx.link(n)
    if link:
        alert["generatorURL"] = link
    return alert


async def post_alerts(ctx: Context, url: str, alerts: list[dict[str, Any]]) -> None:
    await post_json(ctx, f"{url}/api/v2/alerts", alerts, f"alertmanager {url}")


class AlertmanagerNotifier:
    name = "alertmanager"

    async def send(
        self, ctx: Context, target: dict[str, Any], n: Notification, delivery_id: str
    ) -> None:
        await post_alerts(ctx, target["url"], [am_alert(ctx, n)])
