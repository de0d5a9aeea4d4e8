"""What every notifier shares: the send signature, its context and its two kinds of failure.

aiohttp is imported where a request is made: the config loader imports the notifier modules
for their target classes, and `netwatch config check` must not pay for an HTTP client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from urllib.parse import urlsplit

from netwatch.alerting.messages import Message, render
from netwatch.alerting.types import Notification
from netwatch.config.urls import check_url, redact
from netwatch.core.model import SecretRef
from netwatch.core.notifications import JSONObject, JSONValue, NotificationSettings

if TYPE_CHECKING:
    import aiohttp


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
    # Cluster sender: the send must be over before this replica's lease may end (seconds).
    deadline: float | None = None

    @property
    def timeout(self) -> float:
        t = self.settings.delivery.timeout
        return t if self.deadline is None else min(t, self.deadline)

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
    """Sends one notification to one receiver; `target` is the receiver's stored JSON form."""

    name: str

    async def send(
        self, ctx: Context, target: JSONObject, n: Notification, delivery_id: str
    ) -> None:
        """Deliver n to target or raise DeliveryError/Rejected."""
        ...


@runtime_checkable
class Reposting(Protocol):
    """A receiver that keeps only the latest state of an alert and forgets an alert that is
    not re-posted (Alertmanager): the outbox skips superseded rows and re-posts firing alerts."""

    async def repost(self, ctx: Context, target: JSONObject, ns: Sequence[Notification]) -> None:
        """Post every notification of ns (the alerts firing there) again."""
        ...


# -- the JSON forms of target fields (outbox rows) --------------------------------------------


def ref_json(ref: SecretRef | None) -> dict[str, JSONValue] | None:
    """A secret reference as stored: {"env": NAME} or {"file": PATH}; never the secret."""
    if ref is None:
        return None
    return {k: v for k, v in (("env", ref.env), ("file", ref.file)) if v is not None}


def ref_from_json(value: JSONValue) -> SecretRef | None:
    if not isinstance(value, dict) or not value:
        return None
    env, file = value.get("env"), value.get("file")
    return SecretRef(
        env=env if isinstance(env, str) else None, file=file if isinstance(file, str) else None
    )


def text(data: JSONObject, key: str) -> str:
    """A required string field of a stored target (a bad row is retried, then expires)."""
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"stored target field {key!r} is not a string")
    return value


def http_url_problem(url: str) -> str | None:
    """Why url cannot be a target: not http(s), no host, or a credential inside (never echoed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {redact(url)!r}"
    try:
        check_url(url)
    except ValueError as exc:
        return str(exc)
    return None


# -- sending -------------------------------------------------------------------------------------


def secret(ref: SecretRef | None) -> str | None:
    """Resolve a stored secret reference now; a missing secret is retried (it can be fixed)."""
    if ref is None:
        return None
    try:
        return ref.resolve()
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
    ctx: Context,
    url: str,
    payload: JSONValue,
    what: str,
    headers: dict[str, str] | None = None,
) -> str:
    """POST payload as JSON; network errors and timeouts become DeliveryError."""
    import aiohttp

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
