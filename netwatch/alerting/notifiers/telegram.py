"""Telegram Bot API sendMessage (HTML parse mode); honours 429 parameters.retry_after."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from netwatch.alerting.notifiers.base import Context, DeliveryError, Rejected, secret
from netwatch.alerting.types import Notification

MAX_TEXT = 4096  # Bot API limit for one message, in characters after entity parsing


class TelegramNotifier:
    name = "telegram"

    async def send(
        self, ctx: Context, target: dict[str, Any], n: Notification, delivery_id: str
    ) -> None:
        token = secret(target.get("token"))
        if not token:
            raise DeliveryError("telegram: no bot token")
        text = ctx.message(n).html_limited(MAX_TEXT)
        payload = {
            "chat_id": target["chat_id"],
            "text": text,
            "parse_mode": "HTML",
            "disable_web_page_preview": True,
        }
        # The token is part of the URL: never let it reach an error message.
        where = f"telegram chat {target['chat_id']}"
        url = f"{target['base_url']}/bot{token}/sendMessage"
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
