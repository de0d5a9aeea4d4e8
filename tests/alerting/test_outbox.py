"""Outbox: atomic with the engine's transaction, durable across SIGKILL, expiry and order."""

from __future__ import annotations

import asyncio
import collections
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from netwatch.alerting.notifiers.alertmanager import AlertmanagerTarget
from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.alerting.outbox import Outbox
from netwatch.alerting.types import Event
from netwatch.core.notifications import ContactList
from netwatch.core.telemetry import REGISTRY
from tests.alerting.factories import enqueue, notification, settings, village_alert
from tests.alerting.outbox_worker import outbox_settings
from tests.helpers.http_sink import HttpSink

ROOT = Path(__file__).resolve().parents[2]


def count(db: Path, where: str = "1") -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(f"SELECT count(*) FROM outbox WHERE {where}").fetchone()[0]
    finally:
        conn.close()


def test_enqueue_commits_and_rolls_back_with_the_engine(tmp_path: Path) -> None:
    db = tmp_path / "alerts.db"
    two = ContactList(
        "noc", (WebhookTarget("http://127.0.0.1:9/a"), WebhookTarget("http://127.0.0.1:9/b"))
    )
    ob = Outbox(str(db), settings(two))
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE alert_state (fingerprint TEXT PRIMARY KEY, state TEXT)")
    with pytest.raises(RuntimeError), conn:
        conn.execute("INSERT INTO alert_state VALUES ('f', 'firing')")
        ob.enqueue(conn, notification("x-1"))
        raise RuntimeError("engine failed mid-transaction")
    assert count(db) == 0
    assert conn.execute("SELECT count(*) FROM alert_state").fetchone()[0] == 0
    with conn:
        conn.execute("INSERT INTO alert_state VALUES ('f', 'firing')")
        assert ob.enqueue(conn, notification("x-1")) == 2  # one row per receiver
    assert count(db) == 2
    conn.close()


def start_worker(db: Path, url: str, *kill: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.alerting.outbox_worker", str(db), url, *kill],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc


async def wait_exit(proc: subprocess.Popen[str], timeout: float = 20.0) -> int:
    for _ in range(int(timeout / 0.05)):
        if proc.poll() is not None:
            return proc.returncode
        await asyncio.sleep(0.05)
    proc.kill()
    raise AssertionError("worker did not exit")


@pytest.mark.parametrize(("point", "twice"), [("before", set()), ("after", {"d-3"})])
async def test_sigkill_loses_nothing(
    tmp_path: Path, sink: HttpSink, point: str, twice: set[str]
) -> None:
    db = tmp_path / "alerts.db"
    url = f"{sink.url}/hook"
    ob = Outbox(str(db), outbox_settings(url))
    ids = [f"d-{i}" for i in range(1, 6)]
    # Different villages: five independent alerts, delivered in enqueue order (concurrency 1).
    alerts = [village_alert(code=f"35.10.01.200{i}", name=f"Desa {i}") for i in range(1, 6)]
    enqueue(ob, db, *(notification(i, alert=a) for i, a in zip(ids, alerts, strict=True)))
    ob._conn.close()

    first = start_worker(db, url, point, "d-3")
    second = None
    try:
        assert await wait_exit(first) == -signal.SIGKILL
        got = [r.headers["X-Netwatch-Notification-Id"] for r in sink.requests]
        assert got == (["d-1", "d-2"] if point == "before" else ["d-1", "d-2", "d-3"])
        second = start_worker(db, url)
        await sink.wait_for(lambda rs: len(rs) >= 5 + len(twice), timeout=20)
        for _ in range(20):  # bounded: 1 s of delivery passes; nothing more may come
            if count(db, "delivered_at IS NULL") == 0:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(5)
    seen = collections.Counter(r.headers["X-Netwatch-Notification-Id"] for r in sink.requests)
    assert set(seen) == set(ids)
    assert {i for i, c in seen.items() if c == 2} == twice
    assert max(seen.values()) <= 2
    assert count(db, "delivered_at IS NOT NULL") == 5


async def test_expired_rows_are_dropped_and_counted(tmp_path: Path) -> None:
    db = tmp_path / "alerts.db"
    ob = Outbox(str(db), settings(ContactList("noc", (WebhookTarget("http://127.0.0.1:9/"),))))
    before = REGISTRY.get_sample_value(
        "netwatch_notifications_dropped_total", {"notifier": "webhook", "reason": "expired"}
    )
    old = notification("old-1", created_at=village_alert().starts_at)  # far beyond max_age 1 h
    enqueue(ob, db, old)
    assert await ob.deliver_due() == 0
    after = REGISTRY.get_sample_value(
        "netwatch_notifications_dropped_total", {"notifier": "webhook", "reason": "expired"}
    )
    assert after - (before or 0) == 1
    assert count(db, "dropped_at IS NOT NULL AND last_error LIKE 'expired%'") == 1
    assert REGISTRY.get_sample_value("netwatch_notification_outbox_pending") == 0
    await ob.close()


async def test_resolved_waits_for_firing_of_same_alert(
    tmp_path: Path, sink: HttpSink, running
) -> None:
    from aiohttp import web

    # The first attempt (firing) fails; resolved must not overtake it.
    sink.responder = lambda req: web.Response(status=503 if len(sink.requests) == 1 else 200)
    db = tmp_path / "alerts.db"
    ob = Outbox(str(db), settings(ContactList("noc", (WebhookTarget(f"{sink.url}/h"),))))
    running(ob)
    ends = village_alert().starts_at + 600
    enqueue(
        ob,
        db,
        notification("f-1"),
        notification("r-1", Event.RESOLVED, village_alert(ends_at=ends)),
    )
    reqs = await sink.wait_for(lambda rs: len(rs) >= 3)
    order = [r.headers["X-Netwatch-Notification-Id"] for r in reqs]
    assert order == ["f-1", "f-1", "r-1"]


async def test_for_inventory_names_villages_in_texts(
    tmp_path: Path, sink: HttpSink, running
) -> None:
    from dataclasses import replace

    from netwatch.alerting.types import Alert
    from netwatch.core.model import Role, Settings
    from tests.core.inventories import make_inventory

    s = Settings(
        language="en",
        notifications=settings(ContactList("noc", (WebhookTarget(f"{sink.url}/h"),))),
    )
    inv = make_inventory({"35.10.07.2001": [("r1", Role.ROUTER, "127.0.0.2")]}, settings=s)
    ob = Outbox.for_inventory(inv, db_path=str(tmp_path / "alerts.db"))
    running(ob)
    upstream = Alert(
        labels={"alertname": "UpstreamDown", "severity": "critical", "device": "gambiran-pop"},
        starts_at=village_alert().starts_at,
        affected_villages=("35.10.07.2001",),
    )
    enqueue(ob, tmp_path / "alerts.db", notification("u-1", alert=upstream))
    (req,) = await sink.wait_for(lambda rs: len(rs) == 1)
    assert "1 villages affected: Desa 2001 (35.10.07.2001)." in req.json()["text"]
    ob.reload(replace(inv, settings=replace(s, language="id")))
    enqueue(ob, tmp_path / "alerts.db", notification("u-2", alert=upstream))
    reqs = await sink.wait_for(lambda rs: len(rs) == 2)
    assert "1 desa terdampak: Desa 2001 (35.10.07.2001)." in reqs[1].json()["text"]


def test_alertmanager_firing_set_follows_enqueues(tmp_path: Path) -> None:
    db = tmp_path / "alerts.db"
    ob = Outbox(str(db), settings(ContactList("noc", (AlertmanagerTarget("http://127.0.0.1:9"),))))
    firing = lambda: ob._conn.execute("SELECT count(*) FROM outbox_firing").fetchone()[0]  # noqa: E731
    enqueue(ob, db, notification("a-1"))
    assert firing() == 1
    ends = village_alert().starts_at + 60
    # Flapping noticed on a resolve carries ends_at: Alertmanager must see it end.
    enqueue(ob, db, notification("a-2", Event.FLAPPING, village_alert(ends_at=ends)))
    assert firing() == 0
    enqueue(ob, db, notification("a-3"))
    enqueue(ob, db, notification("a-4", Event.RESOLVED, village_alert(ends_at=ends)))
    assert firing() == 0
    enqueue(ob, db, notification("a-3"))  # the engine retrying an old enqueue
    assert firing() == 0


def test_backoff_doubles_caps_and_jitters(tmp_path: Path) -> None:
    from dataclasses import replace

    s = settings()
    s = replace(s, delivery=replace(s.delivery, min_backoff=2.0, max_backoff=600.0))
    low = Outbox(str(tmp_path / "a.db"), s, rng=lambda: 0.0)
    high = Outbox(str(tmp_path / "b.db"), s, rng=lambda: 0.999999)
    assert [low.backoff(a) for a in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert high.backoff(3) == pytest.approx(8.0, rel=1e-5)
    assert low.backoff(20) == 300.0 and high.backoff(5000) == pytest.approx(600.0)


async def test_slow_receiver_does_not_hold_up_others(tmp_path: Path, running) -> None:
    from aiohttp import web

    release = asyncio.Event()

    async def slow_answer(req):
        await release.wait()  # held until the test has seen the fast receiver move on
        return web.Response(status=200)

    slow, fast = HttpSink(slow_answer), HttpSink()
    await slow.start()
    await fast.start()
    try:
        hooks = (WebhookTarget(f"{slow.url}/s"), WebhookTarget(f"{fast.url}/f"))
        db = tmp_path / "alerts.db"
        ob = Outbox(str(db), settings(ContactList("noc", hooks)))
        running(ob)
        enqueue(ob, db, notification("s-1"))
        await slow.wait_for(lambda rs: len(rs) == 1)
        other = village_alert(code="35.10.01.2002", name="Kandangan")
        enqueue(ob, db, notification("s-2", alert=other))
        reqs = await fast.wait_for(lambda rs: len(rs) == 2, timeout=2)
        assert [r.headers["X-Netwatch-Notification-Id"] for r in reqs] == ["s-1", "s-2"]
        assert not release.is_set()
        release.set()
        await slow.wait_for(lambda rs: len(rs) == 2)
    finally:
        release.set()
        await slow.stop()
        await fast.stop()


async def test_an_idle_look_is_one_count_and_a_row_written_without_a_wake_still_goes(
    tmp_path: Path, running
) -> None:
    # Nothing pending: a look reads one count (it was four statements a second: the expiry's
    # count, the due rows, the pending and held gauges). A row another connection writes
    # without waking the outbox is still sent at the next look.
    sink = HttpSink()
    await sink.start()
    try:
        db = tmp_path / "alerts.db"
        ob = Outbox(str(db), settings(ContactList("noc", (WebhookTarget(f"{sink.url}/h"),))))
        statements: list[str] = []
        ob.store.conn.set_trace_callback(statements.append)
        ob._pass()  # the first look also purges old done rows (once a minute)
        statements.clear()
        ob._pass()
        assert len(statements) == 1 and statements[0].startswith("SELECT count(*)")
        assert REGISTRY.get_sample_value("netwatch_notification_outbox_pending") == 0
        running(ob)
        conn = sqlite3.connect(db)
        try:
            with conn:
                ob.enqueue(conn, notification("quiet-1"))  # no wake()
        finally:
            conn.close()
        reqs = await sink.wait_for(lambda rs: len(rs) == 1, timeout=5)
        assert reqs[0].headers["X-Netwatch-Notification-Id"] == "quiet-1"
    finally:
        await sink.stop()
