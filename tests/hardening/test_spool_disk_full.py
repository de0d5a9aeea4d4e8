"""Defect 9: the InfluxDB spool wedged when its own disk was full: every commit failed with
ENOSPC, points held in memory were never sent, new points were dropped while the server was
healthy, and each restart re-sent the uncommitted batch. Here the spool lives on a real
128 KiB tmpfs the test mounts, and a real HTTP server plays InfluxDB going down and back.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from netwatch.core.model import InfluxSettings
from netwatch.core.state import State
from netwatch.exporters.influxdb import metrics as m
from netwatch.exporters.influxdb.exporter import InfluxExporter
from tests.exporters.influxdb import sample
from tests.helpers.netwatch_proc import config, running
from tests.helpers.procs import http_get, wait_for


class Influx:
    """An HTTP server speaking /api/v2/write: 503 while down, 204 and recorded while up."""

    def __init__(self) -> None:
        self.up = False
        self.lines: list[str] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def write(self, request: web.Request) -> web.Response:
        body = (await request.read()).decode()
        if not self.up:
            return web.Response(status=503, text='{"message":"down"}')
        self.lines.extend(body.split("\n"))
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application(client_max_size=64 << 20)
        app.router.add_post("/api/v2/write", self.write)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture
def tiny_fs(tmp_path: Path):
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "fs"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


@pytest.fixture
async def influx() -> AsyncIterator[Influx]:
    server = Influx()
    await server.start()
    yield server
    assert server.runner is not None
    await server.runner.cleanup()


def _settings(url: str, spool: Path) -> InfluxSettings:
    return InfluxSettings(
        url=url,
        bucket="netwatch",
        batch_size=50,
        flush_interval=0.02,
        retry_initial=0.05,
        retry_max=0.2,
        spool_dir=str(spool),
        spool_max_bytes=64 << 20,  # the disk fills long before the spool's own bound
        snapshot_interval=3600.0,
    )


def _line(i: int) -> str:
    return f"netwatch_ping,device=ap-{i % 7} sent=5i,received=5i,seq={i}i {1_700_000_000_000 + i}"


def _dropped() -> float:
    labels = {"reason": "spool_error"}
    return m.REGISTRY.get_sample_value("netwatch_influxdb_points_dropped_total", labels) or 0.0


async def test_disk_full_spool_recovers_sends_everything_once(tiny_fs: Path, influx) -> None:
    spool = tiny_fs / "spool"
    faults: list[str | None] = []
    exporter = InfluxExporter(
        _settings(influx.url, spool), State(sample.inventory()), on_fault=faults.append
    )
    await exporter.start()
    writer = exporter.writer
    assert writer is not None
    dropped_before = _dropped()
    total = 2000
    try:
        for start in range(0, total, 100):  # ~170 KB of lines while InfluxDB is down
            writer.add_many(_line(i) for i in range(start, start + 100))
            writer.flush_pending()
        assert faults and faults[-1] is not None and "No space left on device" in faults[-1]
        assert str(spool) in faults[-1]
        # InfluxDB comes back: what the spool holds and what memory holds both go out.
        influx.up = True
        assert await writer.flush(30.0), f"not drained, {writer.queued} queued"
        dropped = int(_dropped() - dropped_before)
        got = [int(x.split("seq=")[1].split("i")[0]) for x in influx.lines]
        assert len(got) == len(set(got)), "a point was sent twice"
        assert len(got) + dropped == total
        assert dropped <= 1000  # only beyond the memory hold, and counted
        # Commits freed the disk: new points are spooled again and the fault clears.
        writer.add_many(_line(i) for i in range(total, total + 100))
        assert await writer.flush(30.0)
        assert faults[-1] is None
        assert sorted(
            got + [int(x.split("seq=")[1].split("i")[0]) for x in influx.lines[len(got) :]]
        ) == sorted(set(got) | set(range(total, total + 100)))
    finally:
        await exporter.stop(5.0)
    # A restart re-sends nothing the server acknowledged.
    sent = len(influx.lines)
    again = InfluxExporter(_settings(influx.url, spool), State(sample.inventory()))
    await again.start()
    try:
        assert again.writer is not None
        assert again.writer.spool.unread_points == 0
        assert await again.writer.flush(5.0)
    finally:
        await again.stop(5.0)
    assert len(influx.lines) == sent


async def test_io_errors_on_commit_and_fsync_are_survived(
    tmp_path: Path, influx, monkeypatch
) -> None:
    """EIO from the commit file and from fsync (injected at the system-call wrappers the spool
    uses): sending goes on, nothing is deleted before its commit is written, and a restart
    re-sends nothing that a written commit covers."""
    import errno

    from netwatch.exporters.influxdb import spool as spool_mod

    spool = tmp_path / "spool"
    faults: list[str | None] = []
    influx.up = True
    exporter = InfluxExporter(
        _settings(influx.url, spool), State(sample.inventory()), on_fault=faults.append
    )
    await exporter.start()
    writer = exporter.writer
    assert writer is not None
    real_pwrite, real_fsync = os.pwrite, os.fsync
    broken = True

    def pwrite(fd: int, data: bytes, offset: int) -> int:
        if broken:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_pwrite(fd, data, offset)

    def fsync(fd: int) -> None:
        if broken:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(spool_mod.os, "pwrite", pwrite)
    monkeypatch.setattr(spool_mod.os, "fsync", fsync)
    try:
        writer.add_many(_line(i) for i in range(500))
        assert await writer.flush(20.0)  # acknowledged although no commit could be written
        assert faults and "Input/output error" in (faults[-1] or "")
        assert len(influx.lines) == 500
        broken = False
        writer.add_many(_line(i) for i in range(500, 600))
        assert await writer.flush(20.0)  # this commit covers all 600
        assert faults[-1] is None
    finally:
        await exporter.stop(5.0)
    again = InfluxExporter(_settings(influx.url, spool), State(sample.inventory()))
    await again.start()
    try:
        assert again.writer is not None and again.writer.spool.unread_points == 0
    finally:
        await again.stop(5.0)
    got = [int(x.split("seq=")[1].split("i")[0]) for x in influx.lines]
    assert sorted(got) == list(range(600))


def test_running_netwatch_reports_an_unusable_spool_and_retries(tmp_path: Path) -> None:
    """The runtime's wiring: /readyz and netwatch_component_up name the spool; fixed, it runs."""
    blocker = tmp_path / "state"
    blocker.write_text("a file where the spool's parent directory should be")
    spool = blocker / "influxdb-spool"
    settings = (
        f"  influxdb: {{url: 'http://127.0.0.1:9', bucket: b, spool_dir: {spool}, timeout: 1s}}\n"
    )
    with running(tmp_path, config(settings=settings), ready=False) as nw:
        body = nw.not_ready("influxdb_spool")
        assert str(spool) in body
        assert nw.value('netwatch_component_up{component="influxdb_spool"}') == 0
        blocker.unlink()  # the operator fixes the path: the next retry opens the spool
        wait_for(lambda: http_get(nw.url + "/readyz")[0] == 200, 90, "spool opened")
        assert nw.value('netwatch_component_up{component="influxdb_spool"}') == 1
        assert spool.is_dir()
