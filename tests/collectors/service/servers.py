"""Real servers for the service-probe tests: aiohttp over HTTP and HTTPS, raw TCP listeners.

The HTTPS certificate is self-signed for 127.0.0.1 (tests/helpers/tls.py) with a fixed
not-after: the expected expiry is this file's own configuration, not netwatch's reading.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.helpers.tls import self_signed

NOT_AFTER = dt.datetime(2031, 5, 17, 8, 30, 0, tzinfo=dt.UTC)
PORTAL_TEXT = "Selamat datang di Wi-Fi gratis Desa Sarongan (Hotspot login)"


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for IP 127.0.0.1 expiring at NOT_AFTER: (cert, key) files."""
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return self_signed(folder, "portal", "portal.desa.test", start, NOT_AFTER)


@dataclass
class Portal:
    """The village office's captive portal; `status` is what /login answers now."""

    http_port: int = 0
    https_port: int = 0
    status: int = 200
    hits: int = 0
    cert: Path = field(default=Path())


PORTAL = web.AppKey("portal", Portal)


async def _login(request: web.Request) -> web.Response:
    portal = request.app[PORTAL]
    portal.hits += 1
    return web.Response(status=portal.status, text=PORTAL_TEXT)


async def _chunked(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    for part in ("<html>", "<p>first chunk</p>", "<p>second chunk: Hotspot</p>", "</html>"):
        await resp.write(part.encode())
    await resp.write_eof()
    return resp


@asynccontextmanager
async def portal_servers(folder: Path) -> AsyncIterator[Portal]:
    """The portal over HTTP and HTTPS on 127.0.0.1, free ports."""
    cert, key = make_cert(folder)
    portal = Portal(cert=cert)
    app = web.Application()
    app[PORTAL] = portal
    app.router.add_get("/login", _login)
    app.router.add_get("/chunked", _chunked)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    plain = web.TCPSite(runner, "127.0.0.1", 0)
    secure = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await plain.start()
    await secure.start()
    portal.http_port = _port(plain)
    portal.https_port = _port(secure)
    try:
        yield portal
    finally:
        await runner.cleanup()


def _port(site: web.TCPSite) -> int:
    server = site._server
    assert isinstance(server, asyncio.Server)
    return server.sockets[0].getsockname()[1]


@asynccontextmanager
async def raw_server(reply: bytes | None) -> AsyncIterator[int]:
    """A TCP listener that answers every connection with `reply` then closes (None: silence)."""
    held: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()  # a TCP probe connects and leaves without a request
            return
        if reply is None:
            held.append(writer)  # never answers: the probe must time out
            return
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for w in held:
            w.close()
        server.close()
        await server.wait_closed()
