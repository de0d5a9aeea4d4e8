"""Bounded HTTP connections for the admin listener: caps, header timeout, counted refusals.

aiohttp bounds header sizes and the idle time between requests (keepalive_timeout) but not
how long a request's headers may take to arrive, nor how many connections one client may
hold. `GuardedConnection` wraps aiohttp's per-connection protocol: a connection over the
caps is closed as soon as it is accepted, and a request whose headers are not complete
`header_timeout` after its first byte is closed (slowloris). The request-side half (header
complete, handler done) is reported by `guard_middleware`.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import Counter as Tally
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import Counter, Gauge

from netwatch.core.telemetry import REGISTRY

log = logging.getLogger(__name__)

OPEN = Gauge(
    "netwatch_http_connections_open", "Admin listener connections open now.", registry=REGISTRY
)
REFUSED = Counter(
    "netwatch_http_connections_closed_total",
    "Admin listener connections closed by a limit: max_connections, "
    "max_connections_per_client, header_timeout, request_timeout.",
    ["reason"],
    registry=REGISTRY,
)
for _reason in ("max_connections", "max_connections_per_client", "header_timeout"):
    REFUSED.labels(_reason)
REFUSED.labels("request_timeout")


@dataclass(frozen=True, slots=True)
class Limits:
    header_timeout: float = 10.0
    request_timeout: float = 60.0
    max_connections: int = 512
    max_connections_per_client: int = 64


class ConnectionTable:
    """Open connections by client address, and the guard of each transport."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.total = 0
        self.by_client: Tally[str] = Tally()
        self.guards: dict[int, GuardedConnection] = {}


class GuardedConnection(asyncio.Protocol):
    """aiohttp's RequestHandler behind connection caps and a header timeout."""

    def __init__(self, inner_factory: Callable[[], asyncio.Protocol], table: ConnectionTable):
        self._inner_factory = inner_factory
        self._table = table
        self._inner: asyncio.Protocol | None = None
        self._transport: asyncio.Transport | None = None
        self._client = ""
        self._timer: asyncio.TimerHandle | None = None
        self._busy = False  # a request is being handled

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        table, limits = self._table, self._table.limits
        peer = transport.get_extra_info("peername")
        self._client = str(peer[0]) if peer else ""
        reason = None
        if table.total >= limits.max_connections:
            reason = "max_connections"
        elif table.by_client[self._client] >= limits.max_connections_per_client:
            reason = "max_connections_per_client"
        if reason is not None:
            # Closed at once: the file descriptor is back before the next accept.
            REFUSED.labels(reason).inc()
            transport.abort()
            return
        self._transport = transport
        table.total += 1
        table.by_client[self._client] += 1
        table.guards[id(transport)] = self
        OPEN.set(table.total)
        self._inner = self._inner_factory()
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._inner is None:
            return
        if not self._busy and self._timer is None and self._transport is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self._table.limits.header_timeout, self._expired)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        if self._inner is None:
            return
        table = self._table
        table.total -= 1
        table.by_client[self._client] -= 1
        if table.by_client[self._client] <= 0:
            del table.by_client[self._client]
        table.guards.pop(id(self._transport), None)
        OPEN.set(table.total)
        inner, self._inner = self._inner, None
        inner.connection_lost(exc)

    # -- the request side (guard_middleware) ----------------------------------------------

    def request_started(self) -> None:
        """aiohttp parsed the headers and runs the handler: the header clock stops."""
        self._busy = True
        self._cancel_timer()

    def request_done(self) -> None:
        """The response is written: the next request's first byte starts the clock."""
        self._busy = False

    def _expired(self) -> None:
        self._timer = None
        if self._busy or self._transport is None:
            return
        REFUSED.labels("header_timeout").inc()
        self._transport.abort()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def guard_middleware(table: ConnectionTable) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Tell the connection guard when a request runs; bound its body read and handler time."""

    @web.middleware
    async def guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        conn = table.guards.get(id(request.transport))
        if conn is not None:
            conn.request_started()
        try:
            async with asyncio.timeout(table.limits.request_timeout):
                return await handler(request)
        except TimeoutError:
            REFUSED.labels("request_timeout").inc()
            return web.Response(status=503, text="request took too long\n")
        finally:
            if conn is not None:
                conn.request_done()

    return guard


class GuardedSite(web.SockSite):
    """A SockSite whose connections go through GuardedConnection."""

    def __init__(self, runner: web.BaseRunner, sock: object, table: ConnectionTable, **kw: object):
        super().__init__(runner, sock, **kw)  # type: ignore[arg-type]
        self._table = table

    async def start(self) -> None:
        await web.BaseSite.start(self)
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        table = self._table
        self._server = await loop.create_server(
            lambda: GuardedConnection(server, table),  # type: ignore[arg-type]
            sock=self._sock,
            ssl=self._ssl_context,
            backlog=self._backlog,
        )


def raise_open_files_limit() -> tuple[int, int]:
    """Soft RLIMIT_NOFILE up to the hard limit (as Go does at start); returns the new pair.

    systemd's default soft limit is 1,024: sockets of polls, pings and scrapes share it.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft, hard
