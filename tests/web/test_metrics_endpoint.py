"""GET /metrics over real HTTP: format from Accept, gzip from Accept-Encoding, the loop keeps
running while a large body is rendered, and concurrent scrapes share one render."""

from __future__ import annotations

import asyncio
import gzip

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

    def counted(fmt: Format):
        nonlocal slices
        for piece in real(fmt):
            slices += piece is None
            yield piece

    exposition.chunks = counted  # type: ignore[method-assign]
    ticks, done = 0, False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    body = await MetricsEndpoint(exposition).body(Format.TEXT, False, "text/plain")
    done = True
    await task
    assert body.chunks and slices >= 20
    # Another task ran at every slice boundary, not only before and after the render.
    assert ticks >= slices


async def test_one_render_at_a_time_and_waiting_scrapes_share_it() -> None:
    state = _state(50)
    exposition = Exposition(state, [inventory_families, ICMP])
    calls = active = peak = 0
    real = exposition.chunks

    def counted(fmt: Format):
        nonlocal calls, active, peak
        calls += 1
        active += 1
        peak = max(peak, active)
        try:
            yield from real(fmt)
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
