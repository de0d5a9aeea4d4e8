"""GET /metrics over real HTTP: format from Accept, gzip from Accept-Encoding, the loop keeps
running while a large body is rendered, and concurrent scrapes share one render."""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
from collections.abc import Awaitable
from functools import partial
from typing import TypeVar

import aiohttp
from aiohttp import web
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as om_families,
)
from prometheus_client.parser import text_string_to_metric_families

from netwatch.collectors.icmp import PLUGIN as ICMP
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.core.model import Role
from netwatch.core.state import State
from netwatch.exporters.prometheus import Exposition, Format, inventory_families
from netwatch.web.metrics import MetricsEndpoint, wants_gzip
from tests.core.inventories import make_inventory

T = TypeVar("T")

PROMETHEUS_ACCEPT = (  # what Prometheus 2.42 sends
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def _state(villages: int) -> State:
    inv = make_inventory(
        {
            f"35.10.07.{2001 + v}": [
                (f"r{v}", Role.ROUTER, f"127.7.{v // 250}.{v % 250 + 1}"),
                (f"ap{v}", Role.AP, f"127.8.{v // 250}.{v % 250 + 1}"),
            ]
            for v in range(villages)
        }
    )
    s = State(inv)
    for i, name in enumerate(inv.devices):
        rtts = [0.0004 + i * 1e-7 + k * 1e-5 for k in range(5)]
        s.record(PingObservation(name, 1000.0 + i, PingResult("x", 5, 5, rtts), 1.0))
    return s


async def _serve(endpoint: MetricsEndpoint) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.add_routes([web.get("/metrics", endpoint.handle)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/metrics"


def _names(text: str, parse) -> dict[str, int]:
    return {f.name: len(f.samples) for f in parse(text) if f.name.startswith("netwatch_")}


async def test_openmetrics_and_gzip_when_asked_plain_text_otherwise() -> None:
    state = _state(30)
    runner, url = await _serve(MetricsEndpoint(Exposition(state, [inventory_families, ICMP])))
    try:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            headers = {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}
            async with session.get(url, headers=headers) as resp:
                assert resp.status == 200
                assert resp.headers["Content-Encoding"] == "gzip"
                assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
                om = gzip.decompress(await resp.read()).decode()
            async with session.get(url, headers={"Accept-Encoding": "identity"}) as resp:
                assert "Content-Encoding" not in resp.headers
                assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                text = (await resp.read()).decode()
            async with session.get(url, headers={"Accept-Encoding": "gzip;q=0"}) as resp:
                assert "Content-Encoding" not in resp.headers
    finally:
        await runner.cleanup()
    assert om.endswith("# EOF\n") and om.count("# EOF") == 1
    # The same families with the same samples, each read by client_python's own parser.
    ours_om = _names(om, om_families)
    ours_text = _names(text, text_string_to_metric_families)
    assert ours_om["netwatch_device_up"] == ours_text["netwatch_device_up"] == 60
    assert ours_om["netwatch_ping_echo_requests"] == 60  # OpenMetrics: counter without _total
    assert "netwatch_build" in {f.name for f in om_families(om)}  # netwatch's own registry


def test_gzip_negotiation_follows_rfc_9110_q_values() -> None:
    assert wants_gzip("gzip") and wants_gzip("deflate, gzip;q=0.5") and wants_gzip("x-gzip")
    assert not wants_gzip("") and not wants_gzip("identity") and not wants_gzip("gzip;q=0")
    assert not wants_gzip("br, gzip;q=0.000")


async def test_the_loop_runs_between_the_slices_of_a_large_render() -> None:
    state = _state(5000)  # 10,000 devices: ~130,000 lines
    exposition = Exposition(state, [inventory_families, ICMP])
    slices = 0
    real = exposition.chunks

    def counted(fmt: Format, reuse: bool = False):
        nonlocal slices
        for piece in real(fmt, reuse):
            slices += piece is None
            yield piece

    exposition.chunks = counted  # type: ignore[method-assign]
    endpoint = MetricsEndpoint(exposition, slice_seconds=0)  # a turn at every slice mark
    ticks, body = await _loop_turns_during(endpoint.body(Format.TEXT, False, "text/plain"))
    assert body.chunks and slices >= 20
    # Another task ran at every slice boundary, not only before and after the render.
    assert ticks >= slices


async def _loop_turns_during(work: Awaitable[T]) -> tuple[int, T]:
    """How many turns another task got from the loop while work ran, and work's result."""
    turns, done = 0, False

    async def ticker() -> None:
        nonlocal turns
        while not done:
            turns += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    try:
        result = await work
    finally:
        done = True
        await task
    return turns, result


async def test_a_render_gives_the_loop_a_turn_per_slice_of_work_not_per_mark() -> None:
    """A turn of a busy loop takes milliseconds: at 50,000 devices a turn at every mark and a
    wait for every compressed batch made a scrape take 6-34 s for ~1 s of render (issue 10)."""
    state = _state(5000)

    async def turns_during(endpoint: MetricsEndpoint, gz: bool) -> tuple[int, bytes]:
        render = endpoint.body(Format.OPENMETRICS, gz, "application/openmetrics-text")
        turns, body = await _loop_turns_during(render)
        data = b"".join(body.chunks)
        return turns, gzip.decompress(data) if gz else data

    def endpoint(**kw: float) -> MetricsEndpoint:  # a cold render each: the same work
        return MetricsEndpoint(Exposition(state, [inventory_families, ICMP]), **kw)

    every_mark, _ = await turns_during(endpoint(slice_seconds=0), gz=False)
    sliced, _ = await turns_during(endpoint(), gz=False)
    assert sliced >= 2  # the loop ran during the render, not only before and after it
    assert sliced * 2 <= every_mark, (sliced, every_mark)
    # Compressed while the render goes on, several batches ahead: the same body, in order.
    _, text = await turns_during(endpoint(), gz=True)
    alone = bytes(Exposition(state, [inventory_families, ICMP]).render(fmt=Format.OPENMETRICS))
    assert len(alone) > 8 * 2**20  # several gzip batches
    assert text.startswith(alone) and text.endswith(b"# EOF\n")


async def test_tasks_a_timer_starts_during_a_slice_run_before_the_render_goes_on(
    monkeypatch,
) -> None:
    """A scheduler job due during a render's slice starts in three turns of the loop (its timer,
    the slot task, the device run, as netwatch.core.scheduler chains them). Each turn used to
    begin with another slice of the render, so a run due during a scrape started two or three
    slices late (issue 10: the scraping window's lag p99 a bucket above the quiet one's). The
    render now lets the loop run on while other work is ready, before its next slice."""
    from netwatch.web import metrics

    monkeypatch.setattr(metrics, "give_way", partial(metrics.give_way, seconds=60.0))  # no cap
    state = _state(2000)  # 4,000 devices: a slice mark every 500 samplings, then per chunk
    exposition = Exposition(state, [inventory_families, ICMP])
    loop = asyncio.get_running_loop()
    marks = 0
    due: list[int] = []  # the mark after which each timer was set
    started: list[int] = []  # the marks passed when its device run started

    tasks: list[asyncio.Task[None]] = []

    async def run() -> None:
        started.append(marks)

    async def slot() -> None:
        tasks.append(loop.create_task(run()))

    def timer() -> None:
        tasks.append(loop.create_task(slot()))

    real = exposition.chunks

    def counted(fmt: Format, reuse: bool = False):
        nonlocal marks
        for piece in real(fmt, reuse):
            if piece is None:
                marks += 1
                if marks % 3 == 0 and len(due) < 4:
                    due.append(marks)
                    loop.call_later(0, timer)  # due now: run after this slice
            yield piece

    exposition.chunks = counted  # type: ignore[method-assign]
    endpoint = MetricsEndpoint(exposition, slice_seconds=0)  # a turn at every slice mark
    await endpoint.body(Format.OPENMETRICS, True, "application/openmetrics-text")
    await asyncio.gather(*tasks)
    assert len(due) == 4 and marks > 12
    assert started == due  # each run started before the render passed another mark


async def test_plain_and_gzip_writes_give_the_loop_turns_for_a_reader_that_never_waits(
    monkeypatch,
) -> None:
    """write() suspends only when the socket is full: for a fast reader, inflating and writing
    a 128 MB plain body held the loop for its whole length. Now a turn every slice of writing."""
    from netwatch.web import metrics

    class Reader:  # a client that takes every write at once
        def __init__(self) -> None:
            self.parts: list[bytes] = []

        async def write(self, data: bytes) -> None:
            self.parts.append(bytes(data))

        async def write_eof(self) -> None:
            pass

    state = _state(1500)
    endpoint = MetricsEndpoint(Exposition(state, [inventory_families, ICMP]))
    body = await endpoint.body(Format.TEXT, True, "text/plain")
    plain = bytes(Exposition(state, [inventory_families, ICMP]).render())
    monkeypatch.setattr(metrics, "SLICE_SECONDS", 0.0)  # a turn after every write
    for write, want in ((metrics._write_plain, None), (metrics._write, b"".join(body.chunks))):
        reader = Reader()
        turns, _ = await _loop_turns_during(write(reader, body))  # type: ignore[arg-type]
        got = b"".join(reader.parts)
        if want is None:  # inflated: the uncompressed render, then netwatch's own families
            assert got.startswith(plain) and len(reader.parts) > 10
        else:
            assert got == want and len(reader.parts) > 1
        assert turns >= len(reader.parts) - 1, (turns, len(reader.parts))


async def test_one_render_at_a_time_and_waiting_scrapes_share_it() -> None:
    state = _state(50)
    exposition = Exposition(state, [inventory_families, ICMP])
    calls = active = peak = 0
    real = exposition.chunks

    def counted(fmt: Format, reuse: bool = False):
        nonlocal calls, active, peak
        calls += 1
        active += 1
        peak = max(peak, active)
        try:
            yield from real(fmt, reuse)
        finally:
            active -= 1

    exposition.chunks = counted  # type: ignore[method-assign]
    endpoint = MetricsEndpoint(exposition)
    bodies = await asyncio.gather(
        *(endpoint.body(Format.TEXT, False, "text/plain") for _ in range(20)),
        *(endpoint.body(Format.OPENMETRICS, True, "application/openmetrics") for _ in range(5)),
    )
    assert calls == 2 and peak == 1  # one per format and encoding, never two at once
    assert len({b.chunks for b in bodies[:20]}) == 1
    state.record(PingObservation("r0", 5000.0, PingResult("x", 5, 0, []), 1.0))
    fresh = await endpoint.body(Format.TEXT, False, "text/plain")
    assert calls == 3 and fresh.chunks != bodies[0].chunks  # after the render: fresh data


async def _request(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]:
    """GET /metrics on a socket with a 4 KiB receive buffer; returns the status line."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a slow reader's small window
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    status = await asyncio.wait_for(reader.readline(), 60)
    return reader, writer, status


async def test_scrapes_beyond_the_limit_get_a_fast_503_while_slow_readers_hold_the_slots() -> None:
    """Soak finding: 200 concurrent scrapes of a 20 MB body stalled the loop for 80 s. Now at
    most max_scrapes responses are written at once; more get 503 + Retry-After at once."""
    from netwatch.web.metrics import REJECTED

    endpoint = MetricsEndpoint(Exposition(_state(2500), [inventory_families, ICMP]), max_scrapes=3)
    runner, url = await _serve(endpoint)
    port = int(url.split(":")[2].split("/")[0])
    rejected_before = REJECTED._value.get()
    slow = []
    try:
        for _ in range(3):  # readers that do not read: their responses cannot finish
            slow.append(await _request(port))
        assert all(s[2].startswith(b"HTTP/1.1 200") for s in slow), [s[2] for s in slow]
        assert endpoint.active == 3
        for _ in range(5):
            t = time.monotonic()
            reader, writer, status = await _request(port)
            rest = await asyncio.wait_for(reader.read(), 10)
            took = time.monotonic() - t
            writer.close()
            assert status.startswith(b"HTTP/1.1 503"), status
            assert b"\r\nRetry-After: 1\r\n" in status + rest, rest
            assert b"limit 3" in rest, rest
            assert took < 2.0, took  # answered at once, not after the slow bodies
        assert REJECTED._value.get() - rejected_before == 5
        # The slow readers read at last: each gets the whole body (Content-Length of it).
        for reader, writer, _ in slow:
            head, _, body = (await asyncio.wait_for(reader.read(), 60)).partition(b"\r\n\r\n")
            length = int(next(
                line.split(b":")[1] for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ))  # fmt: skip
            assert len(body) == length > 4 << 20, (len(body), length)  # > 4 MiB: past buffers
            assert body.rstrip().endswith(b"# EOF") or b"netwatch_build_info" in body
            writer.close()
        # The slots are free again: the next scrape is served.
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            assert resp.status == 200
            assert "netwatch_device_up{" in await resp.text()
    finally:
        for _, writer, _ in slow:
            writer.close()
        await runner.cleanup()


async def test_plain_text_is_the_compressed_render_inflated_exactly() -> None:
    """Plain text is held compressed and inflated while written (issue 10: the uncompressed
    body of 50,000 devices raised RSS by ~60 MiB): same bytes as an uncompressed render, and
    Content-Length is the inflated size."""
    state = _state(3000)  # 6,000 devices: several zlib batches and write slices
    endpoint = MetricsEndpoint(Exposition(state, [inventory_families, ICMP]))
    runner, url = await _serve(endpoint)
    try:
        async with (
            aiohttp.ClientSession(auto_decompress=False) as session,
            session.get(url, headers={"Accept-Encoding": "identity"}) as resp,
        ):
            assert "Content-Encoding" not in resp.headers
            got = await resp.read()
            assert int(resp.headers["Content-Length"]) == len(got)
    finally:
        await runner.cleanup()
    plain = b"".join((await endpoint.body(Format.TEXT, False, "text/plain")).chunks)

    def series(body: bytes) -> list[bytes]:  # netwatch's own counters move between renders
        return [line for line in body.splitlines() if b'device="' in line]

    assert len(series(got)) > 50_000
    assert series(got) == series(plain)
    assert got.endswith(b"\n") and got.count(b"# HELP netwatch_device_up ") == 1


async def test_a_scraper_gone_before_the_headers_is_no_error_and_frees_its_slot(caplog) -> None:
    # 3,000 devices: the render takes many loop turns, so the client is gone before prepare().
    endpoint = MetricsEndpoint(Exposition(_state(1500), [inventory_families, ICMP]), 1)
    runner, url = await _serve(endpoint)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    try:
        gone = socket.create_connection(("127.0.0.1", port))
        gone.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        gone.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        deadline = time.monotonic() + 10
        while endpoint.active == 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.001)
        assert endpoint.active == 1  # the render is under way for it
        gone.close()  # SO_LINGER 0: a reset, as a scraper's timeout closes its connection
        while endpoint.active and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert endpoint.active == 0  # its slot (the limit is 1) is free again
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            assert resp.status == 200
            assert "netwatch_device_up" in await resp.text()
    finally:
        await runner.cleanup()
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert not errors, [r.getMessage() for r in errors]


async def test_successive_gzip_scrapes_reuse_kept_slices_and_follow_new_rounds() -> None:
    """Scrapes over HTTP, a new round of some devices between them: each gzip body (joined from
    kept and new deflate segments, issue 10) inflates with Python's gzip to the lines a fresh
    exposition (nothing kept) writes from the same state; plain text the same."""
    state = _state(6000)  # 12,000 devices: two slices a family, several gzip batches
    exposition = Exposition(state, [inventory_families, ICMP])
    endpoint = MetricsEndpoint(exposition)
    names = list(state.devices)
    runner, url = await _serve(endpoint)

    def series(body: bytes) -> list[bytes]:  # netwatch's own counters move between renders
        return [line for line in body.splitlines() if b'device="' in line]

    try:
        async with aiohttp.ClientSession(auto_decompress=False) as session:
            for step in range(3):
                for name in names[step::7]:  # a new round: other RTTs, a later time
                    rtts = [0.0011 + step * 1e-4] * 5
                    state.record(PingObservation(name, 5000.0 + step, PingResult("x", 5, 5, rtts)))
                headers = {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}
                async with session.get(url, headers=headers) as resp:
                    assert resp.headers["Content-Encoding"] == "gzip"
                    got = gzip.decompress(await resp.read())
                fresh = bytes(
                    Exposition(state, [inventory_families, ICMP]).render(fmt=Format.OPENMETRICS)
                )
                assert series(got) == series(fresh) and got.endswith(b"# EOF\n")
                assert f"}} {0.0011 + step * 1e-4!r}\n".encode() in got
                async with session.get(url, headers={"Accept-Encoding": "identity"}) as resp:
                    plain = await resp.read()
                assert series(plain) == series(bytes(exposition.render()))
    finally:
        await runner.cleanup()
    series_state = next(iter(exposition._series.values()))
    up = series_state.by_name["netwatch_device_up"].kept
    assert up and all(k.deflated is not None for k in up.values())
