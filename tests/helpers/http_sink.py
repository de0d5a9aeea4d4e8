"""A local HTTP server (aiohttp) that records requests and answers from a script.

Used as an Alertmanager webhook receiver, a generic webhook endpoint and a Telegram Bot API.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    time: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Callable[[Request], Awaitable[web.Response] | web.Response]


class HttpSink:
    """Records every request; `responder` decides each answer (default 200 {"ok":true})."""

    def __init__(self, responder: Responder | None = None) -> None:
        self.requests: list[Request] = []
        self.responder = responder
        self._runner: web.AppRunner | None = None
        self._changed = asyncio.Condition()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> HttpSink:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        rec = Request(request.path, dict(request.headers), await request.read())
        async with self._changed:
            self.requests.append(rec)
            self._changed.notify_all()
        if self.responder is None:
            return web.json_response({"ok": True})
        answer = self.responder(rec)
        if asyncio.iscoroutine(answer):
            answer = await answer
        return answer  # type: ignore[return-value]

    async def wait_for(
        self, predicate: Callable[[list[Request]], bool], timeout: float = 10.0
    ) -> list[Request]:
        """Wait (bounded) until predicate(requests) holds; raise TimeoutError otherwise."""

        async def check() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self.requests))

        await asyncio.wait_for(check(), timeout)
        return self.requests
