"""Telegram Bot API sendMessage (HTML parse mode); honours 429 parameters.retry_after."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

from netwatch.alerting.notifiers.base import (
    Context,
    DeliveryError,
    Rejected,
    http_url_problem,
    ref_from_json,
    ref_json,
    secret,
    text,
)
from netwatch.alerting.types import Notification
from netwatch.core.model import SecretRef
from netwatch.core.notifications import Destination, JSONObject

MAX_TEXT = 4096  # Bot API limit for one message, in characters after entity parsing
API = "https://api.telegram.org"


@dataclass(frozen=True, slots=True)
class TelegramTarget:
    """`telegram: [{chat_ids, token, base_url}]`: one receiver per chat."""

    notifier: ClassVar[str] = "telegram"
    events: ClassVar[frozenset[str] | None] = None
    shorthand: ClassVar[str | None] = None

    chat_ids: tuple[str, ...]
    token: SecretRef
    base_url: str = API  # a proxy or a local Bot API server

    def problems(self) -> list[str]:
        problem = http_url_problem(self.base_url)
        return ([problem] if problem else []) + (
            [] if self.chat_ids else ["telegram without chat_ids"]
        )

    def destinations(self) -> list[Destination]:
        base = self.base_url.rstrip("/")
        return [
            Destination(
                {"base_url": base, "chat_id": str(c), "token": ref_json(self.token)}, str(c)
            )
            for c in self.chat_ids
        ]


@dataclass(frozen=True, slots=True)
class _Chat:
    """One destination as stored: a chat of a bot."""

    base_url: str
    chat_id: str
    token: SecretRef | None

    @classmethod
    def from_json(cls, data: JSONObject) -> _Chat:
        return cls(text(data, "base_url"), text(data, "chat_id"), ref_from_json(data.get("token")))


class TelegramNotifier:
    name = "telegram"

    async def send(
        self, ctx: Context, target: JSONObject, n: Notification, delivery_id: str
    ) -> None:
        import aiohttp

        chat = _Chat.from_json(target)
        token = secret(chat.token)
        if not token:
            raise DeliveryError("telegram: no bot token")
        payload = {
            "chat_id": chat.chat_id,
            "text": ctx.message(n).html_limited(MAX_TEXT),
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        # The token is part of the URL: never let it reach an error message.
        where = f"telegram chat {chat.chat_id}"
        url = f"{chat.base_url}/bot{token}/sendMessage"
        try:
            async with ctx.session.post(
                url, json=payload, timeout=aiohttp.ClientTimeout(total=ctx.timeout)
            ) as resp:
                raw = await resp.text()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}") from None
        _check(status, raw, where)


def _check(status: int, raw: str, where: str) -> None:
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if status == 200 and answer.get("ok") is True:
        return
    desc = str(answer.get("description", raw[:200]))
    params = answer.get("parameters") or {}
    if status == 429:
        retry = params.get("retry_after") if isinstance(params, dict) else None
        after = float(retry) if isinstance(retry, int | float) else None
        raise DeliveryError(f"{where}: rate limited: {desc}", retry_after=after)
    if status == 400:
        raise Rejected(f"{where}: HTTP 400: {desc}")
    raise DeliveryError(f"{where}: HTTP {status}: {desc}")


TARGET = TelegramTarget
NOTIFIER = TelegramNotifier
