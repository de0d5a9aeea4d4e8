"""GET /metrics: the exposition rendered on the event loop in slices, gzip in a worker thread.

The body is built between other work: the exposition yields every few milliseconds and the
loop runs its timers and sockets in between, so polling goes on during a scrape (issue 10; a
render in a worker thread held the GIL and starved the loop instead). Compression runs in the
default executor: zlib releases the GIL, so it uses the second core. The format follows
`Accept` (OpenMetrics when Prometheus asks for it) and gzip follows `Accept-Encoding`. One
render at a time; scrapes asking for the same format and encoding meanwhile share it.
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import Counter
from prometheus_client.exposition import choose_encoder, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics

from netwatch.core import telemetry
from netwatch.exporters.prometheus import Exposition, Format

RENDERS = Counter(
    "netwatch_metrics_renders_total",
    "/metrics bodies rendered; scrapes that arrive during a render share it.",
    registry=telemetry.REGISTRY,
)
GZIP_LEVEL = 1  # a 90 MB scrape: ~10x smaller at level 1, little more at 6 for 3x the CPU
GZIP_BATCH = 1 << 20  # bytes handed to zlib at once (one trip to the worker thread)
EOF = b"# EOF\n"


@dataclass(frozen=True, slots=True)
class Body:
    chunks: tuple[bytes, ...]
    content_type: str
    gzip: bool

    def __len__(self) -> int:
        return sum(len(c) for c in self.chunks)


def wants_gzip(accept_encoding: str) -> bool:
    """True when the client takes gzip (q=0 refuses it)."""
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip"):
            q = params.strip().removeprefix("q=")
            return not (params and q.replace(".", "", 1).strip("0") == "")
    return False


def self_metrics(fmt: Format) -> bytes:
    """netwatch's own metrics (a small registry) by client_python, without `# EOF`."""
    if fmt is Format.OPENMETRICS:
        return openmetrics.generate_latest(telemetry.REGISTRY).removesuffix(EOF)
    return generate_latest(telemetry.REGISTRY)


class MetricsEndpoint:
    """The /metrics handler over one exposition."""

    def __init__(self, exposition: Exposition) -> None:
        self.exposition = exposition
        self._lock = asyncio.Lock()  # the exposition's columns are refreshed by one render
        self._running: dict[tuple[Format, bool], asyncio.Future[Body]] = {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        _, content_type = choose_encoder(request.headers.get("Accept", ""))
        fmt = Format.OPENMETRICS if "openmetrics" in content_type else Format.TEXT
        gz = wants_gzip(request.headers.get("Accept-Encoding", ""))
        body = await self.body(fmt, gz, content_type)
        response = web.StreamResponse(headers={"Content-Type": body.content_type})
        if body.gzip:
            response.headers["Content-Encoding"] = "gzip"
        response.content_length = len(body)
        await response.prepare(request)
        for chunk in body.chunks:
            await response.write(chunk)
        await response.write_eof()
        return response

    async def body(self, fmt: Format, gz: bool, content_type: str) -> Body:
        key = (fmt, gz)
        running = self._running.get(key)
        if running is None:
            task = asyncio.get_running_loop().create_task(self._render(fmt, gz, content_type))
            running = self._running[key] = task
            task.add_done_callback(lambda _: self._running.pop(key, None))
            RENDERS.inc()
        return await asyncio.shield(running)

    async def _render(self, fmt: Format, gz: bool, content_type: str) -> Body:
        async with self._lock:
            out: list[bytes] = []
            pending: list[bytes] = []
            size = 0
            comp = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if gz else None
            loop = asyncio.get_running_loop()
            for piece in self.exposition.chunks(fmt):
                if piece is None:
                    await asyncio.sleep(0)  # timers and sockets run between slices
                elif comp is None:
                    out.append(piece)
                else:
                    pending.append(piece)
                    size += len(piece)
                    if size >= GZIP_BATCH:
                        data = b"".join(pending)
                        pending, size = [], 0
                        out.append(await loop.run_in_executor(None, comp.compress, data))
            tail = self_metrics(fmt) + (EOF if fmt is Format.OPENMETRICS else b"")
            if comp is None:
                out.append(tail)
            else:
                pending.append(tail)
                out.append(await loop.run_in_executor(None, comp.compress, b"".join(pending)))
                out.append(comp.flush())
            return Body(tuple(c for c in out if c), content_type, comp is not None)
