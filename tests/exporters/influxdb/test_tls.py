"""TLS: an unknown CA is refused (retried, not dropped); ca_file or verify_tls=false work."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from aiohttp import web

from netwatch.core.model import InfluxSettings
from netwatch.core.state import State
from netwatch.exporters.influxdb import metrics as m
from netwatch.exporters.influxdb.exporter import InfluxExporter
from tests.exporters.influxdb import sample
from tests.helpers.tls import self_signed


@pytest.fixture
async def https_server(tmp_path: Path):
    cert, key = self_signed(tmp_path)
    received: list[bytes] = []

    async def write(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/api/v2/write", write)
    app.router.add_post("/write", write)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"https://127.0.0.1:{port}", cert, received
    await runner.cleanup()


async def push(url: str, tmp_path: Path, mode: str, **tls: object) -> bool:
    cfg = InfluxSettings(
        url=url, bucket="b", mode=mode, spool_dir=str(tmp_path / f"spool-{mode}-{len(tls)}"),
        flush_interval=0.02, retry_initial=0.05, retry_max=0.1, snapshot_interval=3600.0,
        **tls,  # type: ignore[arg-type]
    )  # fmt: skip
    state = State(sample.inventory())
    exporter = InfluxExporter(cfg, state)
    await exporter.start()
    try:
        state.record(sample.ping("ap 1", 100.0, [0.001]))
        assert exporter.writer is not None
        return await exporter.writer.flush(2.0)
    finally:
        await exporter.stop(0.2)


@pytest.mark.parametrize("mode", ["v2", "v1"])
async def test_tls_verification(https_server, tmp_path: Path, mode: str) -> None:
    url, cert, received = https_server
    errors = m.REGISTRY.get_sample_value(
        "netwatch_influxdb_write_errors_total", {"reason": "network"}
    )
    assert not await push(url, tmp_path, mode)  # system CAs do not know this certificate
    assert received == []
    after = m.REGISTRY.get_sample_value(
        "netwatch_influxdb_write_errors_total", {"reason": "network"}
    )
    assert after is not None and errors is not None and after > errors
    assert await push(url, tmp_path, mode, ca_file=str(cert))
    assert await push(url, tmp_path, mode, verify_tls=False)
    assert len(received) == 2
