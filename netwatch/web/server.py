"""HTTP endpoints: /metrics, /healthz, /readyz, /-/reload, the status page and its JSON API.

Every response carries security headers; requests pass the Host/Origin checks and basic auth
(netwatch.web.security) and the connection limits (netwatch.web.guard) of settings.web.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

from aiohttp import web

from netwatch.core.model import WebSettings
from netwatch.core.runtime import Runtime
from netwatch.exporters.prometheus import Exposition, Source
from netwatch.web import guard, security
from netwatch.web.metrics import MetricsEndpoint

log = logging.getLogger(__name__)

RouteFactory = Callable[[Runtime], list[web.RouteDef]]
CONNECTIONS = web.AppKey("netwatch.connections", guard.ConnectionTable)
SETTINGS = web.AppKey("netwatch.web", WebSettings)


def build_app(
    runtime: Runtime,
    sources: list[Source] | None = None,
    extra_routes: list[RouteFactory] | None = None,
) -> web.Application:
    chosen = sources if sources is not None else runtime.metric_sources()
    settings = runtime.inventory.settings.web
    metrics = MetricsEndpoint(Exposition(runtime.state, chosen), settings.max_concurrent_scrapes)

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        ready, reasons = runtime.readiness()
        if ready:
            return web.Response(text="ready\n")
        # Every part that cannot run, one per line: a load balancer or a person sees why.
        return web.Response(status=503, text="not ready:\n" + "".join(f"{r}\n" for r in reasons))

    async def reload(_: web.Request) -> web.Response:
        result = await runtime.reload()  # never raises: a failure is a result with errors
        if result.ok:
            return web.Response(
                text=f"reloaded: {result.added} added, {result.removed} removed, "
                f"{result.changed} changed\n"
            )
        # Prometheus answers a failed /-/reload with 500 and the error; so do we.
        return web.Response(status=500, text="reload failed:\n" + "\n".join(result.errors) + "\n")

    table = guard.ConnectionTable(
        guard.Limits(
            header_timeout=settings.header_timeout,
            request_timeout=settings.request_timeout,
            max_connections=settings.max_connections,
            max_connections_per_client=settings.max_connections_per_client,
        )
    )
    app = web.Application(
        middlewares=[guard.guard_middleware(table), security.security_middleware(settings)],
        client_max_size=settings.max_body_bytes,
    )
    app[CONNECTIONS] = table
    app[SETTINGS] = settings
    app.add_routes(
        [
            web.get("/metrics", metrics.handle),
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.post("/-/reload", reload),
        ]
    )
    from netwatch.web import status_page

    security.add_security_headers(app, [security.style_hash(status_page.STYLE)])
    app.add_routes(status_page.routes(runtime))
    for factory in extra_routes or []:
        app.add_routes(factory(runtime))
    return app


def parse_listen(listen: str) -> tuple[str, int]:
    """'127.0.0.1:9108' / '[::1]:9108' / ':9108' → (host, port)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


def listen_socket(listen: str) -> socket.socket:
    host, port = parse_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def serve_socket(app: web.Application, sock: socket.socket) -> web.AppRunner:
    """Serve app on a bound, listening socket with the limits and TLS of settings.web."""
    settings = app[SETTINGS]
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=settings.idle_timeout,
        max_line_size=settings.max_header_bytes,
        max_field_size=settings.max_header_bytes,
        max_headers=100,
        lingering_time=min(10.0, settings.request_timeout),
    )
    await runner.setup()
    site = guard.GuardedSite(
        runner, sock, app[CONNECTIONS], ssl_context=security.tls_context(settings)
    )
    await site.start()
    return runner


async def serve(app: web.Application, listen: str) -> web.AppRunner:
    return await serve_socket(app, listen_socket(listen))
