"""Benchmark: outbox enqueue + webhook delivery vs raw aiohttp POSTs; Alertmanager re-post.

    .venv/bin/python bench/notify_outbox.py [--n 2000]

The sink runs in a child process so only the sender's CPU is measured. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netwatch.alerting.notifiers.alertmanager import AlertmanagerTarget  # noqa: E402
from netwatch.alerting.notifiers.webhook import WebhookNotifier, WebhookTarget  # noqa: E402
from netwatch.alerting.outbox import Outbox  # noqa: E402
from netwatch.core.notifications import ContactList  # noqa: E402
from tests.alerting.factories import notification, settings, village_alert  # noqa: E402
from tests.helpers.alertmanager import Alertmanager, free_port  # noqa: E402

SINK = """
import sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(text="ok")
app = web.Application()
app.router.add_post("/{tail:.*}", ok)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


async def wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as s:
        for _ in range(200):
            try:
                async with s.post(url, data=b"x"):
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise TimeoutError(url)


def notifications(n: int):
    return [
        notification(f"b-{i}", alert=village_alert(code=f"35.10.{i // 100:02d}.{2000 + i % 100}"))
        for i in range(n)
    ]


async def bench_outbox(tmp: Path, url: str, n: int) -> tuple[float, float, float]:
    s = settings(ContactList("noc", (WebhookTarget(url=url),)))
    s = replace(s, delivery=replace(s.delivery, concurrency=8))
    db = tmp / "bench.db"
    ob = Outbox(str(db), s)
    ns = notifications(n)
    conn = sqlite3.connect(db)
    c0 = time.process_time()
    for x in ns:  # one transaction per notification, as the engine commits
        with conn:
            ob.enqueue(conn, x)
    enqueue_cpu = time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    runner = asyncio.create_task(ob.run())  # as in service: continuous, `concurrency` in flight
    done = 0
    for _ in range(100 * n):  # bounded
        await asyncio.sleep(0.005)
        done = conn.execute(
            "SELECT count(*) FROM outbox WHERE delivered_at IS NOT NULL"
        ).fetchone()[0]
        if done >= n:
            break
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    runner.cancel()
    await asyncio.gather(runner, return_exceptions=True)
    await ob.close()
    assert done == n, done
    return enqueue_cpu / n, cpu / n, wall


async def bench_raw(url: str, n: int) -> tuple[float, float]:
    ns = notifications(n)
    hook = WebhookNotifier()
    gate = asyncio.Semaphore(8)
    t0, c0 = time.perf_counter(), time.process_time()
    async with aiohttp.ClientSession() as session:
        # Same JSON bodies, no outbox: the floor for sending through aiohttp.
        from netwatch.alerting.notifiers.base import Context

        ctx = Context(session, settings())

        async def one(x) -> None:
            async with gate:
                await hook.send(ctx, {"url": url, "secret": None}, x, x.id)

        await asyncio.gather(*(one(x) for x in ns))
    return (time.process_time() - c0) / n, time.perf_counter() - t0


async def bench_repost(tmp: Path, n: int) -> tuple[float, float]:
    am = await Alertmanager(tmp / "am", "http://127.0.0.1:9/none").start()
    try:
        s = settings(ContactList("noc", (AlertmanagerTarget(am.url),)))
        ob = Outbox(str(tmp / "am.db"), s)
        conn = sqlite3.connect(tmp / "am.db")
        with conn:
            for x in notifications(n):
                ob.enqueue(conn, x)
        t0 = time.perf_counter()
        posted = await ob.repost_firing()
        ours = time.perf_counter() - t0
        assert posted == n
        body = json.dumps([{"labels": x.alert.labels} for x in notifications(n)])
        async with aiohttp.ClientSession() as session:
            t0 = time.perf_counter()
            for i in range(0, n, 500):  # same batching, minimal alerts, prebuilt
                chunk = json.dumps(json.loads(body)[i : i + 500])
                async with session.post(
                    f"{am.url}/api/v2/alerts",
                    data=chunk,
                    headers={"Content-Type": "application/json"},
                ) as r:
                    r.raise_for_status()
            raw = time.perf_counter() - t0
        await ob.close()
        return ours, raw
    finally:
        am.stop()


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    n = ap.parse_args().n
    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port)])
    try:
        url = f"http://127.0.0.1:{port}/hook"
        await wait_up(url)
        with tempfile.TemporaryDirectory() as d:
            enq, cpu, wall = await bench_outbox(Path(d), url, n)
            raw_cpu, raw_wall = await bench_raw(url, n)
            print(f"notifications: {n} (webhook, concurrency 8, loopback)")
            print(f"enqueue (own transaction each): {enq * 1e6:.0f} µs CPU per notification")
            print(
                f"outbox delivery: {cpu * 1e3:.2f} ms CPU per notification, {n / wall:.0f}/s"
                f" ({wall:.2f} s)"
            )
            print(f"raw aiohttp POST (peer): {raw_cpu * 1e3:.2f} ms CPU, {n / raw_wall:.0f}/s")
            print(f"ratio outbox/raw CPU: {cpu / raw_cpu:.2f}x")
            ours, raw = await bench_repost(Path(d), 1000)
            print(
                f"Alertmanager re-post of 1000 firing alerts: {ours * 1e3:.0f} ms"
                f" (prebuilt minimal POST of the same: {raw * 1e3:.0f} ms, {ours / raw:.2f}x)"
            )
    finally:
        sink.terminate()
        sink.wait(5)


if __name__ == "__main__":
    asyncio.run(main())
