"""kill -9 in the middle of an outage: no duplicate, no lost notification, resolution arrives."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from tests.alerting.test_e2e_outage import until
from tests.helpers.netns import Netlab, requires_root
from tests.helpers.village_lab import District

pytestmark = [requires_root, pytest.mark.root]

ROOT = Path(__file__).resolve().parents[2]


def village_states(db: Path) -> dict[str, str]:
    if not db.exists():
        return {}
    conn = sqlite3.connect(db, timeout=5)
    try:
        rows = conn.execute("SELECT village, state FROM village_states WHERE until IS NULL")
        return dict(rows.fetchall())
    except sqlite3.OperationalError:
        return {}  # schema not created yet
    finally:
        conn.close()


def outbox(db: Path) -> list[tuple[str, int, float | None]]:
    conn = sqlite3.connect(db, timeout=5)
    try:
        return conn.execute(
            "SELECT event, attempts, delivered_at FROM outbox ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()


async def test_kill_9_mid_outage(tmp_path):
    accept = {"now": False}
    got: list[tuple[str, str]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        if not accept["now"]:
            return web.Response(status=503, text="busy")  # stays pending in the outbox
        got.append((body["event"], body["id"]))
        return web.json_response({"ok": True})

    with Netlab() as lab:
        district = District(lab, villages=2)
        # The worker runs in `core`: its webhook receiver must listen there too.
        sock = district.core.call(lambda: socket.create_server(("127.0.0.1", 0)))
        port = sock.getsockname()[1]
        app = web.Application()
        app.router.add_post("/hook", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        db = tmp_path / "alerts.db"
        cfg = json.dumps({"db": str(db), "webhook": f"http://127.0.0.1:{port}/hook", "villages": 2})

        log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 - the workers write to it

        def start() -> subprocess.Popen:
            return district.core.popen(
                sys.executable,
                "-m",
                "tests.helpers.alert_worker",
                cfg,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

        try:
            worker = start()
            await until(lambda: set(village_states(db).values()) == {"up"}, 30, "villages up")
            district.ap_links[1].set_up(False)
            # The firing is enqueued and attempted, but the receiver refuses it for now.
            await until(
                lambda: any(e == "firing" and a >= 1 for e, a, _ in outbox(db)),
                30,
                "a firing delivery attempt",
            )
            worker.kill()  # SIGKILL
            await asyncio.to_thread(worker.wait, 10)
            # A request the dead worker had already written sits in our socket buffer; let the
            # receiver answer it (503, as before the kill) before it starts accepting, or it
            # would count as a delivery the worker never saw (CI failed once this way).
            server = runner.server
            assert server is not None
            await until(lambda: not server.connections, 10, "the dead worker's connections closed")
            accept["now"] = True
            worker = start()
            await until(lambda: got, 30, "the firing delivered after restart")
            await asyncio.sleep(4.0)  # engine restarted mid-outage: hold-downs passed again
            assert [e for e, _ in got] == ["firing"]
            district.restore(district.ap_links[1])
            await until(lambda: len(got) >= 2, 30, "the resolution")
            await asyncio.sleep(2.0)
            assert [e for e, _ in got] == ["firing", "resolved"]
            assert len({i for _, i in got}) == 2
            rows = outbox(db)
            assert [e for e, _, _ in rows] == ["firing", "resolved"]
            assert all(d is not None for _, _, d in rows)
        finally:
            worker.kill()
            worker.wait(10)
            await runner.cleanup()
            log.close()
