"""Retry and drop behaviour against a local HTTP server answering 500, 429 and 400."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

import pytest
from aiohttp import web

from netwatch.core.model import InfluxSettings, SecretRef
from netwatch.core.state import State
from netwatch.exporters.influxdb import metrics as m
from netwatch.exporters.influxdb.exporter import InfluxExporter
from netwatch.exporters.influxdb.transport import parse_retry_after
from tests.exporters.influxdb import sample
from tests.helpers.lineproto import ParseError, parse_line


class FakeInflux:
    """Answers a scripted list of statuses, then validates lines (400 on any bad one)."""

    def __init__(self, script: list[tuple[int, dict[str, str]]]) -> None:
        self.script = list(script)
        self.requests: list[tuple[float, str, dict, str]] = []  # (time, path, query, auth)
        self.accepted: list[str] = []
        self.bodies: list[list[str]] = []  # lines of each accepted request
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = (await request.read()).decode()
        self.requests.append(
            (
                time.monotonic(),
                request.path,
                dict(request.query),
                request.headers.get("Authorization", ""),
            )
        )
        if self.script:
            status, headers = self.script.pop(0)
            return web.Response(status=status, headers=headers, text='{"message":"scripted"}')
        lines = body.split("\n")
        for n, line in enumerate(lines, 1):
            try:
                parsed = parse_line(line)
            except ParseError as exc:
                return web.Response(status=400, text=f'{{"message":"line {n}: {exc}"}}')
            if "bad" in parsed.fields:
                # As InfluxDB's field type conflict answer.
                return web.Response(status=400, text=f'{{"message":"line {n}: type conflict"}}')
        self.accepted.extend(lines)
        self.bodies.append(lines)
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/v2/write", self.handle)
        app.router.add_post("/write", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def settings(port: int, spool: Path, mode: str) -> InfluxSettings:
    return InfluxSettings(
        url=f"http://127.0.0.1:{port}",
        bucket="netwatch/autogen" if mode == "v1" else "netwatch",
        mode=mode,
        org="banyuwangi",
        token=SecretRef(env="NW_TEST_INFLUX_TOKEN"),
        username="nw" if mode == "v1" else None,
        password=SecretRef(env="NW_TEST_INFLUX_TOKEN") if mode == "v1" else None,
        timeout=5.0,
        batch_size=100,
        flush_interval=0.05,
        retry_initial=0.05,
        retry_max=0.2,
        spool_dir=str(spool),
        snapshot_interval=3600.0,
    )


def counter(name: str, **labels: str) -> float:
    return m.REGISTRY.get_sample_value(name, labels) or 0.0


async def run(fake: FakeInflux, tmp_path: Path, mode: str, lines: list[str], **kw: str) -> None:
    cfg = dataclasses.replace(settings(fake.port, tmp_path / "spool", mode), **kw)
    exporter = InfluxExporter(cfg, State(sample.inventory()))
    await exporter.start()
    try:
        assert exporter.writer is not None
        exporter.writer.add_many(lines)
        assert await exporter.writer.flush(15.0), "writer did not drain"
    finally:
        await exporter.stop(1.0)


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("NW_TEST_INFLUX_TOKEN", "s3cret")
    servers: list[FakeInflux] = []

    async def make(script: list[tuple[int, dict[str, str]]]) -> FakeInflux:
        f = FakeInflux(script)
        await f.start()
        servers.append(f)
        return f

    yield make
    for f in servers:
        await f.stop()


LINES = [
    f"netwatch_ping,device=d{i} sent=5i,loss_ratio=0.{i} {1_700_000_000_000 + i}" for i in range(10)
]


@pytest.mark.parametrize("mode", ["v2", "v1"])
async def test_5xx_is_retried_until_accepted(fake, tmp_path: Path, mode: str) -> None:
    server = await fake([(500, {}), (503, {})])
    before = counter("netwatch_influxdb_write_errors_total", reason="server")
    written = counter("netwatch_influxdb_points_written_total")
    await run(server, tmp_path, mode, LINES)
    assert server.accepted == LINES
    assert len(server.requests) == 3
    assert counter("netwatch_influxdb_write_errors_total", reason="server") - before == 2
    assert counter("netwatch_influxdb_points_written_total") - written == len(LINES)
    _, path, query, auth = server.requests[-1]
    if mode == "v2":
        assert path == "/api/v2/write"
        assert query == {"org": "banyuwangi", "bucket": "netwatch", "precision": "ms"}
        assert auth == "Token s3cret"
    else:
        assert path == "/write"
        assert query == {"db": "netwatch", "rp": "autogen", "precision": "ms"}
        assert auth.startswith("Basic ")


@pytest.mark.parametrize("mode", ["v2", "v1"])
async def test_429_waits_for_retry_after(fake, tmp_path: Path, mode: str) -> None:
    # Backoff alone would retry after ≤ 0.05 s; Retry-After asks for 1 s.
    server = await fake([(429, {"Retry-After": "1"})])
    before = counter("netwatch_influxdb_write_errors_total", reason="throttled")
    await run(server, tmp_path, mode, LINES)
    assert server.accepted == LINES
    gap = server.requests[1][0] - server.requests[0][0]
    assert 1.0 <= gap < 3.0  # a backoff of ≤ 0.05 s would have retried at once
    assert counter("netwatch_influxdb_write_errors_total", reason="throttled") - before == 1


@pytest.mark.parametrize("mode", ["v2", "v1"])
async def test_400_drops_only_the_bad_points(fake, tmp_path: Path, mode: str) -> None:
    server = await fake([])
    bad = {3, 7}
    lines = [
        f"netwatch_ping,device=d{i} {'bad' if i in bad else 'sent'}=5i {1_700_000_000_000 + i}"
        for i in range(10)
    ]
    dropped = counter("netwatch_influxdb_points_dropped_total", reason="rejected")
    written = counter("netwatch_influxdb_points_written_total")
    await run(server, tmp_path, mode, lines)
    good = [x for i, x in enumerate(lines) if i not in bad]
    assert sorted(server.accepted) == sorted(good)
    assert counter("netwatch_influxdb_points_dropped_total", reason="rejected") - dropped == 2
    assert counter("netwatch_influxdb_points_written_total") - written == len(good)


async def test_connection_refused_keeps_points_until_server_comes(fake, tmp_path: Path) -> None:
    server = FakeInflux([])
    await server.start()
    port = server.port
    await server.stop()  # nobody listens on port now
    exporter = InfluxExporter(settings(port, tmp_path / "spool", "v2"), State(sample.inventory()))
    before = counter("netwatch_influxdb_write_errors_total", reason="network")
    await exporter.start()
    try:
        assert exporter.writer is not None
        exporter.writer.add_many(LINES)
        assert not await exporter.writer.flush(0.5)
        assert counter("netwatch_influxdb_write_errors_total", reason="network") > before
        assert exporter.writer.queued == len(LINES)
        app = web.Application()
        revived = FakeInflux([])
        app.router.add_post("/api/v2/write", revived.handle)
        revived.runner = web.AppRunner(app)
        await revived.runner.setup()
        await web.TCPSite(revived.runner, "127.0.0.1", port).start()
        try:
            assert await exporter.writer.flush(10.0)
            assert revived.accepted == LINES
        finally:
            await revived.stop()
    finally:
        await exporter.stop(0.5)
    await asyncio.sleep(0)


async def test_influxdb_18_compat_sends_user_password_token_and_db_rp_bucket(
    fake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NW_TEST_INFLUX_TOKEN", "netwatch:rahasia")
    server = await fake([])
    await run(server, tmp_path, "v2", LINES[:2], bucket="netwatch/autogen")
    _, path, query, auth = server.requests[-1]
    assert path == "/api/v2/write"
    assert query["bucket"] == "netwatch/autogen" and auth == "Token netwatch:rahasia"
    assert server.accepted == LINES[:2]


def test_retry_after_forms() -> None:
    # RFC 9110 §10.2.3: delay-seconds or an HTTP-date.
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


async def test_batches_by_size_and_by_time(fake, tmp_path: Path) -> None:
    server = await fake([])
    cfg = dataclasses.replace(
        settings(server.port, tmp_path / "spool", "v2"), batch_size=100, flush_interval=1.0
    )
    exporter = InfluxExporter(cfg, State(sample.inventory()))
    await exporter.start()
    try:
        assert exporter.writer is not None
        lines = [f"m,d=x v={i}i {i}" for i in range(250)]
        start = time.monotonic()
        exporter.writer.add_many(lines)
        # Two full batches go at once; the last 50 wait for flush_interval.
        deadline = start + 5
        while len(server.accepted) < 250 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert server.accepted == lines
        sizes = [len(b) for b in server.bodies]
        assert sizes == [100, 100, 50]
        assert server.requests[1][0] - start < 0.8  # full batches do not wait
        assert server.requests[2][0] - start >= 1.0
    finally:
        await exporter.stop()


def test_backoff_doubles_to_the_cap_with_jitter() -> None:
    from netwatch.exporters.influxdb.writer import Writer

    for r, factor in ((0.0, 0.5), (1.0, 1.0)):
        w = Writer(None, None, retry_initial=1.0, retry_max=60.0, rng=lambda r=r: r)  # type: ignore[arg-type]
        assert [w._delay(a, None) for a in range(8)] == [
            factor * x for x in (1, 2, 4, 8, 16, 32, 60, 60)
        ]
        assert w._delay(3, 7.0) == 7.0 * (1 + 0.1 * r)  # Retry-After wins over backoff
