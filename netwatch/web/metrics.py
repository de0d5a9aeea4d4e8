"""GET /metrics: the exposition rendered on the event loop in slices, gzip in a worker thread.

The body is built between other work: the render gives the loop a turn after every
SLICE_SECONDS of its own work (at the exposition's slice marks), and a few more while other work
is ready (give_way), so polling goes on during a scrape and a scheduler run due meanwhile starts
within a slice (issue 10; a render in a worker thread held the GIL and starved the loop instead).
Compression runs in the default executor while the render goes on: zlib releases the GIL, so
it uses the second core. A turn of a busy loop can take milliseconds, and a turn at every mark
plus a wait for every compressed batch made a 50,000-device scrape on a loop doing 5 ms of
other work per turn take 6-34 s, for ~1 s of render CPU. The format follows `Accept`
(OpenMetrics when Prometheus asks for it) and gzip follows `Accept-Encoding`; the body is held
compressed either way (inflated as written for a plain-text client). The gzip body is joined
from deflate segments: a collector slice whose inputs did not change since the last scrape is
its kept segment, neither written nor compressed again (exporters/deflate_segments.py,
prometheus_series.Kept). One render at a time;
scrapes asking for the same format meanwhile share it. At most `web.max_concurrent_scrapes`
responses are written at once; beyond, a fast 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import Counter
from prometheus_client.exposition import choose_encoder, generate_latest
from prometheus_client.openmetrics import exposition as openmetrics

from netwatch.core import memory, telemetry
from netwatch.core.turns import give_way
from netwatch.exporters.deflate_segments import Deflated, Kept, deflate, gzip_member, stored
from netwatch.exporters.prometheus import Exposition, Format

REJECTED = Counter(
    "netwatch_metrics_scrapes_rejected_total",
    "/metrics requests answered 503 because web.max_concurrent_scrapes were being written.",
    registry=telemetry.REGISTRY,
)
RENDERS = Counter(
    "netwatch_metrics_renders_total",
    "/metrics bodies rendered; scrapes that arrive during a render share it.",
    registry=telemetry.REGISTRY,
)
GZIP_LEVEL = 1  # a 90 MB scrape: ~10x smaller at level 1, little more at 6 for 3x the CPU
GZIP_BATCH = 1 << 21  # bytes handed to zlib at once (one trip to the worker thread)
# Batches that may wait for the gzip thread: its turns come at the GIL's switch interval (5 ms)
# while the render holds the GIL, so one batch at a time made the render wait for it.
GZIP_AHEAD = 2
# Bytes between two kept slices (family headers) below this are written as stored deflate
# blocks on the loop: a thread job each made many small trips and GIL hand-offs per scrape.
STORED_BELOW = 1 << 14
EOF = b"# EOF\n"
WRITE_SLICE = 1 << 16  # bytes written at once; the loop runs between slices (backpressure)
RETRY_AFTER = "1"  # seconds, on the 503 beyond the scrape limit
# Render work between two turns of the loop: short next to the echo stream's 50 ms slots and
# the 1 s lag target, long enough that a scrape of a busy loop waits for few turns.
SLICE_SECONDS = 0.01
# After a slice the render gives way (core/turns.py: up to 4 turns while others are ready, at
# most SLICE_SECONDS of their work). A scheduler job that falls due during a slice starts in three
# turns (APScheduler's timer, its slot task, the device run); with the render first in each turn,
# each hop waited a slice: runs due during a render started 25-50 ms late, the scraping window's
# lag p99 bucket a step above the quiet one's (issue 10).
_gzip_pool: ThreadPoolExecutor | None = None


def _compress(data: bytes) -> Future[Deflated]:
    """data as a deflate segment, in the one gzip thread."""
    global _gzip_pool
    if _gzip_pool is None:
        _gzip_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metrics-gzip")
    return _gzip_pool.submit(deflate, data, GZIP_LEVEL)


async def _compressed(batch: Future[Deflated]) -> Deflated:
    """The batch's bytes; no turn of the loop if the thread is done with it (an asyncio
    future of the executor would wait a turn for its callback: one per batch, ~100 a scrape)."""
    return batch.result() if batch.done() else await asyncio.wrap_future(batch)


@dataclass(frozen=True, slots=True)
class Body:
    chunks: tuple[bytes, ...]
    content_type: str
    gzip: bool
    size: int = 0  # bytes of the exposition before compression

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


async def _write(response: web.StreamResponse, body: Body) -> None:
    """Write body in slices of the one shared copy (no per-request copy); write() waits for the
    socket to drain past 64 KiB, so a slow reader holds no more than that in buffers. A fast
    reader never makes it wait: the loop gets a turn every SLICE_SECONDS of writing."""
    clock = time.perf_counter
    turn_at = clock() + SLICE_SECONDS
    for chunk in body.chunks:
        view = memoryview(chunk)
        for at in range(0, len(view), WRITE_SLICE):
            await response.write(view[at : at + WRITE_SLICE])
            if clock() >= turn_at:
                await give_way()
                turn_at = clock() + SLICE_SECONDS
    await response.write_eof()


async def _write_plain(response: web.StreamResponse, body: Body) -> None:
    """Write a gzip body uncompressed, WRITE_SLICE bytes at a time, as the client reads; a turn
    of the loop every SLICE_SECONDS (inflating 128 MB for a fast reader is ~0.2 s of CPU, which
    write() alone never interrupts: it waits only for a full socket)."""
    inflate = zlib.decompressobj(31)
    clock = time.perf_counter
    turn_at = clock() + SLICE_SECONDS
    for chunk in body.chunks:
        data: bytes = chunk
        while data:
            out = inflate.decompress(data, WRITE_SLICE)
            data = inflate.unconsumed_tail
            if out:
                await response.write(out)
            if clock() >= turn_at:
                await give_way()
                turn_at = clock() + SLICE_SECONDS
    rest = inflate.flush()
    if rest:
        await response.write(rest)
    await response.write_eof()


class MetricsEndpoint:
    """The /metrics handler over one exposition."""

    def __init__(
        self, exposition: Exposition, max_scrapes: int = 10, slice_seconds: float = SLICE_SECONDS
    ) -> None:
        self.exposition = exposition
        self.slice_seconds = slice_seconds  # 0: a turn of the loop at every slice mark
        # Responses rendered or written at once: each holds the loop and a body's bytes in the
        # socket buffers; beyond it a fast 503 (as promhttp's MaxRequestsInFlight does).
        self.max_scrapes = max_scrapes
        self.active = 0
        self._lock = asyncio.Lock()  # the exposition's columns are refreshed by one render
        self._running: dict[tuple[Format, bool], asyncio.Future[Body]] = {}
        self.trimmer = memory.TRIMMER
        self.trimmer.busy_while(self)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.active >= self.max_scrapes:
            REJECTED.inc()
            return web.Response(
                status=503,
                headers={"Retry-After": RETRY_AFTER},
                text=f"too many concurrent scrapes (limit {self.max_scrapes}); retry later\n",
            )
        self.active += 1
        try:
            return await self._serve(request)
        finally:
            self.active -= 1
            if self.active == 0:  # the bodies are released: give their memory back (rate-
                self.trimmer.request()  # limited; a storm of 200 left RSS ~15 MiB up)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        _, content_type = choose_encoder(request.headers.get("Accept", ""))
        fmt = Format.OPENMETRICS if "openmetrics" in content_type else Format.TEXT
        gz = wants_gzip(request.headers.get("Accept-Encoding", ""))
        # Rendered compressed for every client and inflated while written for one that asks
        # plain text (curl, run_bench's sample count): the whole uncompressed body (86 MiB at
        # 50,000 devices) held at once raised RSS by ~70 MiB, the process's high-water mark
        # (issue 10); held compressed it is ~10 times smaller, and both kinds share a render.
        body = await self.body(fmt, True, content_type)
        response = web.StreamResponse(headers={"Content-Type": body.content_type})
        if gz:
            response.headers["Content-Encoding"] = "gzip"
        response.content_length = len(body) if gz else body.size
        # A scraper that gave up (its timeout) is nothing to log; the slot is freed. It may
        # have gone before the headers (a render slower than its timeout): prepare() raises
        # then, and aiohttp logged that as an error with a traceback (the 50,000-device run).
        with contextlib.suppress(ConnectionError):
            await response.prepare(request)
            await (_write(response, body) if gz else _write_plain(response, body))
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
            if not gz:
                return await self._render_plain(fmt, content_type)
            return await self._render_gzip(fmt, content_type)

    async def _turns(self, fmt: Format, reuse: bool) -> AsyncIterator[bytes | Kept]:
        """The exposition's pieces, with a turn of the loop per slice_seconds of render work."""
        clock, budget = time.perf_counter, self.slice_seconds
        mark = clock()
        turn_at = mark + budget
        for piece in self.exposition.chunks(fmt, reuse):
            if piece is None:
                # A slice ends before the budget if the next piece, as long as the last one
                # (they come in runs of alike ones), would take it past: pieces of 3-8 ms made
                # 10 ms slices of up to ~19 ms.
                now = clock()
                last, mark = now - mark, now
                if now + last >= turn_at:
                    await give_way()  # timers, sockets and the tasks they start run
                    mark = clock()
                    turn_at = mark + budget
            else:
                yield piece

    async def _render_plain(self, fmt: Format, content_type: str) -> Body:
        out: list[bytes] = []
        async for piece in self._turns(fmt, False):
            out.append(piece)  # type: ignore[arg-type]  # bytes: no Kept without reuse
        out.append(self_metrics(fmt) + (EOF if fmt is Format.OPENMETRICS else b""))
        out = [c for c in out if c]
        return Body(tuple(out), content_type, False, sum(len(c) for c in out))

    async def _render_gzip(self, fmt: Format, content_type: str) -> Body:
        """Deflate segments in order: new text batched (GZIP_BATCH) and compressed in the gzip
        thread while the render goes on, collector slices kept from the last scrape reused as
        they are (their inputs unchanged), new slices compressed apart and kept for the next."""
        segments: list[Deflated | Future[Deflated]] = []
        waiting: deque[tuple[int, Kept | None]] = deque()  # segments still in the thread
        pending: list[bytes] = []
        size = 0

        async def collect(block: bool) -> None:
            # At most GZIP_AHEAD batches wait for the gzip thread; done ones without a turn.
            while waiting and (block or len(waiting) > GZIP_AHEAD or _done(segments, waiting)):
                at, kept = waiting.popleft()
                seg = await _compressed(segments[at])  # type: ignore[arg-type]
                segments[at] = seg
                if kept is not None:
                    kept.done(seg)

        def submit(data: bytes, kept: Kept | None) -> None:
            waiting.append((len(segments), kept))
            segments.append(_compress(data))

        async for piece in self._turns(fmt, True):
            if isinstance(piece, bytes):
                pending.append(piece)
                size += len(piece)
                if size < GZIP_BATCH:
                    continue
            if pending:
                data = b"".join(pending)
                if size < STORED_BELOW:
                    segments.append(stored(data))
                else:
                    submit(data, None)
                pending, size = [], 0
            if isinstance(piece, Kept):
                text = piece.text
                if piece.deflated is not None:
                    segments.append(piece.deflated)
                elif text is not None and len(text) < STORED_BELOW:  # a few lines: here
                    seg = deflate(text, GZIP_LEVEL)
                    piece.done(seg)
                    segments.append(seg)
                else:
                    assert text is not None
                    submit(text, piece)
            await collect(False)
        pending.append(self_metrics(fmt) + (EOF if fmt is Format.OPENMETRICS else b""))
        submit(b"".join(pending), None)
        await collect(True)
        out, total = gzip_member(s for s in segments if isinstance(s, Deflated))
        return Body(tuple(out), content_type, True, total)


def _done(
    segments: list[Deflated | Future[Deflated]], waiting: deque[tuple[int, Kept | None]]
) -> bool:
    seg = segments[waiting[0][0]]
    return isinstance(seg, Future) and seg.done()
