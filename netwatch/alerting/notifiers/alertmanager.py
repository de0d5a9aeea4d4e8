"""Alertmanager API v2: POST /api/v2/alerts, idempotent by label set (its fingerprint).

Alertmanager keeps only the latest state of an alert and resolves one that is not re-posted
within its resolve_timeout: the notifier is `Reposting`, and the outbox re-posts firing alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from netwatch.alerting.notifiers.base import Context, http_url_problem, post_json, text
from netwatch.alerting.serialize import iso
from netwatch.alerting.types import Notification
from netwatch.core.notifications import Destination, JSONObject, JSONValue

BATCH = 500  # alerts per re-post request


@dataclass(frozen=True, slots=True)
class AlertmanagerTarget:
    """`alertmanager: [http://am1:9093]`: one receiver per base URL."""

    notifier: ClassVar[str] = "alertmanager"
    # Alertmanager repeats and escalates by its own config; it only needs state changes.
    events: ClassVar[frozenset[str] | None] = frozenset(
        {"firing", "resolved", "flapping", "update"}
    )
    shorthand: ClassVar[str | None] = "url"

    url: str

    def problems(self) -> list[str]:
        problem = http_url_problem(self.url)
        return [problem] if problem else []

    def destinations(self) -> list[Destination]:
        url = self.url.rstrip("/")
        return [Destination({"url": url}, url)]


def am_alert(ctx: Context, n: Notification) -> JSONObject:
    """One postableAlert: labels as the engine set them, texts as annotations."""
    msg = ctx.message(n)
    annotations: JSONObject = {"summary": msg.subject, "description": msg.text}
    if n.alert.cause:
        annotations["cause"] = n.alert.cause
    alert: JSONObject = {
        "labels": dict[str, JSONValue](n.alert.labels),
        "annotations": annotations,
        "startsAt": iso(n.alert.starts_at),
    }
    if n.closes:
        alert["endsAt"] = iso(n.alert.ends_at if n.alert.ends_at is not None else n.created_at)
    link = ctx.link(n)
    if link:
        alert["generatorURL"] = link
    return alert


async def post_alerts(ctx: Context, url: str, alerts: list[JSONValue]) -> None:
    await post_json(ctx, f"{url}/api/v2/alerts", alerts, f"alertmanager {url}")


class AlertmanagerNotifier:
    name = "alertmanager"

    async def send(
        self, ctx: Context, target: JSONObject, n: Notification, delivery_id: str
    ) -> None:
        await post_alerts(ctx, text(target, "url"), [am_alert(ctx, n)])

    async def repost(self, ctx: Context, target: JSONObject, ns: Sequence[Notification]) -> None:
        url = text(target, "url")
        alerts: list[JSONValue] = [am_alert(ctx, n) for n in ns]
        for i in range(0, len(alerts), BATCH):
            await post_alerts(ctx, url, alerts[i : i + BATCH])


TARGET = AlertmanagerTarget
NOTIFIER = AlertmanagerNotifier
