"""What every notifier shares: the send signature, its context and its two kinds of failure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiohttp

from netwatch.alerting.messages import Message, render
from netwatch.alerting.types import Notification
from netwatch.core.model import NotificationSettings, SecretRef


class DeliveryError(Exception):
    """Not delivered this time; retry (after retry_after seconds if the server said so)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Rejected(DeliveryError):
    """The receiver refused this message itself (bad request): retrying cannot help."""


@dataclass(slots=True)
class Context:
    session: aiohttp.ClientSession
    settings: NotificationSettings
    language: str = "id"
    village_names: Mapping[str, str] = field(default_factory=dict)

    @property
    def timeout(self) -> float:
        return self.settings.delivery.timeout

    def message(self, n: Notification) -> Message:
        return render(
            n,
            self.settings.language or self.language,
            self.settings.timezone,
            self.settings.link_base_url,
            self.village_names,
        )

    def link(self, n: Notification) -> str:
        base = self.settings.link_base_url
        key = n.alert.labels.get("village") or n.alert.labels.get("device") or ""
        return n.extra.get("link") or (f"{base}{key}" if base else "")


class Notifier(Protocol):
    name: str

    async def send(
        self, ctx: Context, target: dict[str, Any], n: Notification, delivery_id: str
    ) -> None:
        """Deliver n to target or raise DeliveryError/Rejected."""
        ...


def secret(ref: dict[str, str] | None) -> str | None:
    """Resolve a stored secret reference now; a missing secret is retried (it can be fixed)."""
    if not ref:
        return None
    try:
        return SecretRef(env=ref.get("env"), file=ref.get("file")).resolve()
    except (KeyError, OSError) as exc:
        raise DeliveryError(f"secret not available: {exc}") from None


def check_http(status: int, body: str, what: str) -> None:
    """2xx passes; 400/413/422 reject the message itself; everything else is retried."""
    if 200 <= status < 300:
        return
    detail = f"{what}: HTTP {status}: {body[:200]}"
    if status in (400, 413, 422):
        raise Rejected(detail)
    raise DeliveryError(detail)


async def post_json(
    ctx: Context, url: str, payload: Any, what: str, headers: dict[str, str] | None = None
) -> str:
    """POST payload as JSON; network errors and timeouts become DeliveryError."""
    try:
        async with ctx.session.post(
            url,
            json=payload,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=ctx.timeout),
        ) as resp:
            body = await resp.text()
            check_http(resp.status, body, what)
            return body
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}") from None
