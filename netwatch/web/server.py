"""HTTP endpoints: /metrics, /healthz, /readyz, /-/reload, the status page and its JSON API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client.exposition import choose_encoder, generate_latest

from netwatch.core import telemetry
from netwatch.core.runtime import Runtime
from netwatch.exporters.prometheus import Exposition, Source, build_registry

log = logging.getLogger(__name__)

RouteFactory = Callable[[Runtime], list[web.RouteDef]]


def build_app(
    runtime: Runtime,
    sources: list[Source] | None = None,
    extra_routes: list[RouteFactory] | None = None,
) -> web.Application:
    chosen = sources if sources is not None else runtime.metric_sources()
    registry = build_registry(runtime.state, chosen)
    exposition = Exposition(runtime.state, chosen)

    def render_fast() -> bytearray:
        body = exposition.render()
        body += generate_latest(telemetry.REGISTRY)
        return body

    async def metrics(request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        loop = asyncio.get_running_loop()
        # Rendering 100k samples takes a while: a worker thread keeps the scheduler's loop free.
        if encoder is generate_latest:
            body = await loop.run_in_executor(None, render_fast)
        else:
            body = await loop.run_in_executor(None, encoder, registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(_: web.Request) -> web.Response:
        if runtime.ready:
            return web.Response(text="ready\n")
        return web.Response(status=503, text="starting\n")

    async def reload(_: web.Request) -> web.Response:
        result = await runtime.reload()
        if result.ok:
            return web.Response(
                text=f"reloaded: {result.added} added, {result.removed} removed, "
                f"{result.changed} changed\n"
            )
        # Prometheus answers a failed /-/reload with 500 and the error; so do we.
        return web.Response(status=500, text="reload failed:\n" + "\n".join(result.errors) + "\n")

    app = web.Application()
    app.add_routes(
        [
            web.get("/metrics", metrics),
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.post("/-/reload", reload),
        ]
    )
    from netwatch.web import status_page

    app.add_routes(status_page.routes(runtime))
    for factory in extra_routes or []:
        app.add_routes(factory(runtime))
    return app


def parse_listen(listen: str) -> tuple[str, int]:
    """'127.0.0.1:9108' / '[::1]:9108' / ':9108' → (host, port)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port)


async def serve(app: web.Application, listen: str) -> web.AppRunner:
    host, port = parse_listen(listen)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    return runner
