"""Defect 9: the InfluxDB spool wedged when its own disk was full: every commit failed with
ENOSPC, points held in memory were never sent, new points were dropped while the server was
healthy, and each restart re-sent the uncommitted batch. Here the spool lives on a real
128 KiB tmpfs the test mounts, and a real HTTP server plays InfluxDB going down and back.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from netwatch.core.health import Health
from netwatch.core.model import InfluxSettings
from netwatch.core.state import State
from netwatch.exporters.influxdb import metrics as m
from netwatch.exporters.influxdb import writer as writer_mod
from netwatch.exporters.influxdb.exporter import InfluxExporter
from tests.exporters.influxdb import sample
from tests.helpers import tmpfs
from tests.helpers.netwatch_proc import config, running
from tests.helpers.procs import http_get, wait_for

COMPONENT = "influxdb_spool"


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
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    with tmpfs.mounted(tmp_path / "fs", "128k") as mnt:
        yield mnt


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


async def _append_until_recovered(
    writer: writer_mod.Writer, faults: list[str | None], seqs: range
) -> None:
    """Append seqs in 10 steps over ~1 s; then the spool must report its recovery (None)."""
    step = len(seqs) // 10
    for at in range(0, len(seqs), step):
        writer.add_many(_line(i) for i in seqs[at : at + step])
        writer.flush_pending()
        await asyncio.sleep(0.1)
    for _ in range(100):  # the sync loop (every second) also ends a quiet clean run
        if faults[-1] is None:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no recovery reported: {faults[-3:]}")


async def test_disk_full_spool_recovers_sends_everything_once(
    tiny_fs: Path, influx, monkeypatch
) -> None:
    monkeypatch.setattr(writer_mod, "RECOVER_SECONDS", 0.5)
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
        # Commits freed the disk: new points are spooled again and, after appends without a
        # failure for RECOVER_SECONDS (the hysteresis), the fault clears.
        await _append_until_recovered(writer, faults, range(total, total + 100))
        assert await writer.flush(30.0)
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

    monkeypatch.setattr(writer_mod, "RECOVER_SECONDS", 0.5)
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
        await _append_until_recovered(writer, faults, range(500, 600))
        assert await writer.flush(20.0)  # this commit covers all 600
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


def _fill(path: Path, max_bytes: int) -> int:
    """Write path a page at a time until ENOSPC (or max_bytes); returns the bytes written."""
    written = 0
    with open(path, "ab", buffering=0) as fh:
        while written < max_bytes:
            try:
                written += fh.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
    return written


async def test_nearly_full_disk_is_one_fault_and_one_recovery(
    tmp_path: Path, influx, monkeypatch, caplog
) -> None:
    """The soak of 3 Dec: on a nearly full disk an append sometimes fits between failing ones,
    and each fit was reported as a recovery (the spool flapped 39 times in 90 s, 4 log lines
    each). Here a real tmpfs is full, then in turns a little space comes and goes: the spool
    stays one fault until it has appended without a failure for RECOVER_SECONDS, then recovers
    once, with one line saying how long it failed; nothing is lost."""
    monkeypatch.setattr(writer_mod, "RECOVER_SECONDS", 1.0)  # 10 s in service; the same logic
    caplog.set_level(logging.INFO)
    health = Health()
    reports: list[str | None] = []

    def on_fault(reason: str | None) -> None:  # as exporters/influxdb/hook.py wires it
        reports.append(reason)
        health.ok(COMPONENT) if reason is None else health.fail(COMPONENT, reason)

    with tmpfs.mounted(tmp_path / "fs", "512k") as disk:
        exporter = InfluxExporter(
            _settings(influx.url, disk / "spool"), State(sample.inventory()), on_fault=on_fault
        )
        await exporter.start()  # InfluxDB is down: nothing is committed, the disk stays full
        writer = exporter.writer
        assert writer is not None
        reserve, filler = disk / "reserve", disk / "filler"
        try:
            assert _fill(reserve, 192 << 10) == 192 << 10
            assert _fill(filler, 1 << 20) > 0  # now full
            seq = 0
            for _ in range(8):
                writer.add_many(_line(i) for i in range(seq, seq + 100))  # 2 records, 8 KB
                seq += 100
                writer.flush_pending()  # ENOSPC: held in memory
                assert writer._held, "the append fitted: the disk was not full"
                reserve.unlink()  # some space comes back for a moment...
                writer.add_many(_line(i) for i in range(seq, seq + 20))
                seq += 20
                writer.flush_pending()  # ...and this append (held lines too) fits
                assert _fill(reserve, 192 << 10) > 0  # ...and is taken again
            assert len(reports) == 1, f"flapped: {reports}"
            assert "No space left on device" in (reports[0] or "")
            assert COMPONENT in health.faults
            failed_at = time.monotonic()
            # The disk is freed for good: after appends for RECOVER_SECONDS it runs again.
            reserve.unlink()
            filler.unlink()
            for _ in range(200):
                if reports[-1] is None:
                    break
                writer.add_many(_line(i) for i in range(seq, seq + 5))
                seq += 5
                writer.flush_pending()
                await asyncio.sleep(0.05)
            assert reports == [reports[0], None]
            assert time.monotonic() - failed_at >= 1.0
            assert COMPONENT not in health.faults
            # InfluxDB returns: every point arrives once, from the spool or from memory.
            influx.up = True
            assert await writer.flush(30.0), f"not drained, {writer.queued} queued"
        finally:
            await exporter.stop(5.0)
    got = sorted(int(x.split("seq=")[1].split("i")[0]) for x in influx.lines)
    assert got == list(range(seq))
    health_lines = [r.getMessage() for r in caplog.records if r.name == "netwatch.health"]
    assert len(health_lines) == 2, health_lines  # the fault once, the recovery once
    assert health_lines[0].startswith(f"{COMPONENT} not running: spool ")
    assert health_lines[1].startswith(f"{COMPONENT} running again after ")
    assert "No space left on device" in health_lines[1]
    spool_lines = [r for r in caplog.records if r.name == writer_mod.__name__]
    assert sum("holding points in memory" in r.getMessage() for r in spool_lines) == 1
