"""Generic webhook: a JSON body signed with HMAC-SHA256 (see docs/alerting.md, "Webhook")."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from netwatch.alerting.notifiers.base import (
    Context,
    DeliveryError,
    check_http,
    http_url_problem,
    ref_from_json,
    ref_json,
    secret,
    text,
)
from netwatch.alerting.serialize import alert_to_dict, iso
from netwatch.alerting.types import Notification
from netwatch.core.model import SecretRef
from netwatch.core.notifications import Destination, JSONObject, JSONValue

SIGNATURE_HEADER = "X-Netwatch-Signature"
TIMESTAMP_HEADER = "X-Netwatch-Timestamp"
ID_HEADER = "X-Netwatch-Notification-Id"


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """`webhook: [{url, secret}]`; the secret signs the body (X-Netwatch-Signature)."""

    notifier: ClassVar[str] = "webhook"
    events: ClassVar[frozenset[str] | None] = None
    shorthand: ClassVar[str | None] = None

    url: str
    secret: SecretRef | None = None  # HMAC-SHA256 key

    def problems(self) -> list[str]:
        problem = http_url_problem(self.url)
        return [problem] if problem else []

    def destinations(self) -> list[Destination]:
        return [Destination({"url": self.url, "secret": ref_json(self.secret)}, self.url)]

    @classmethod
    def from_json(cls, data: JSONObject) -> WebhookTarget:
        return cls(text(data, "url"), ref_from_json(data.get("secret")))


def body(ctx: Context, n: Notification, sent_at: int) -> JSONObject:
    msg = ctx.message(n)
    alert = alert_to_dict(n.alert)
    alert["fingerprint"] = n.alert.fingerprint
    alert["starts_at"] = iso(n.alert.starts_at)
    alert["ends_at"] = None if n.alert.ends_at is None else iso(n.alert.ends_at)
    return {
        "version": "1",
        "id": n.id,
        "event": n.event.value,
        "created_at": iso(n.created_at),
        "sent_at": sent_at,  # equals the timestamp header; signed with the body
        "escalation_level": n.escalation_level,
        "language": ctx.settings.language or ctx.language,
        "title": msg.subject,
        "text": msg.text,
        "link": ctx.link(n) or None,
        "alert": alert,
        "extra": dict[str, JSONValue](n.extra),
    }


def sign(key: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()


class WebhookNotifier:
    name = "webhook"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    async def send(
        self, ctx: Context, target: JSONObject, n: Notification, delivery_id: str
    ) -> None:
        import aiohttp

        t = WebhookTarget.from_json(target)
        sent_at = int(self._clock())
        raw = json.dumps(body(ctx, n, sent_at), ensure_ascii=False, sort_keys=True).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            ID_HEADER: n.id,
            TIMESTAMP_HEADER: str(sent_at),
            "X-Netwatch-Event": n.event.value,
        }
        key = secret(t.secret)
        if key is not None:
            headers[SIGNATURE_HEADER] = sign(key, raw)
        try:
            async with ctx.session.post(
                t.url, data=raw, headers=headers, timeout=aiohttp.ClientTimeout(total=ctx.timeout)
            ) as resp:
                check_http(resp.status, await resp.text(), f"webhook {t.url}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"webhook {t.url}: {type(exc).__name__}: {exc}") from None


TARGET = WebhookTarget
NOTIFIER = WebhookNotifier
