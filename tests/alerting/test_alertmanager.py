"""Notifications through a real Alertmanager to its webhook receiver."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from pathlib import Path

from netwatch.alerting.notifiers.alertmanager import AlertmanagerTarget
from netwatch.alerting.types import Event
from netwatch.core.notifications import ContactList
from tests.alerting.factories import (
    STARTS,
    enqueue,
    make_outbox,
    notification,
    settings,
    village_alert,
)
from tests.helpers.alertmanager import Alertmanager
from tests.helpers.http_sink import HttpSink, Request


def am_posts(path: str, status: str) -> callable:
    def pred(reqs: list[Request]) -> bool:
        return any(r.path == path and r.json()["status"] == status for r in reqs)

    return pred


def first(reqs: list[Request], path: str, status: str) -> dict:
    return next(r.json() for r in reqs if r.path == path and r.json()["status"] == status)


def ts(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


async def test_firing_and_resolve_reach_receiver(tmp_path: Path, sink: HttpSink, running) -> None:
    am = await Alertmanager(tmp_path / "am", f"{sink.url}/am").start()
    try:
        ob = make_outbox(tmp_path, settings(ContactList("noc", (AlertmanagerTarget(am.url),))))
        running(ob)
        enqueue(ob, tmp_path / "alerts.db", notification("n1"))
        reqs = await sink.wait_for(am_posts("/am", "firing"))
        alert = first(reqs, "/am", "firing")["alerts"][0]
        assert alert["labels"] == {
            "alertname": "VillageWifiDown",
            "severity": "critical",
            "village": "35.10.01.2001",
            "village_name": "Sarongan",
            "district": "35.10.01",
            "district_name": "Pesanggaran",
        }
        assert abs(ts(alert["startsAt"]) - STARTS) < 0.001
        assert "Sarongan" in alert["annotations"]["summary"]

        ends = STARTS + 12 * 60
        resolved = notification("n2", Event.RESOLVED, village_alert(ends_at=ends))
        enqueue(ob, tmp_path / "alerts.db", resolved)
        reqs = await sink.wait_for(am_posts("/am", "resolved"))
        alert = first(reqs, "/am", "resolved")["alerts"][0]
        assert alert["status"] == "resolved"
        assert abs(ts(alert["endsAt"]) - ends) < 0.001
    finally:
        am.stop()


async def test_reposting_keeps_alert_firing(tmp_path: Path, sink: HttpSink, running) -> None:
    am = await Alertmanager(tmp_path / "am", f"{sink.url}/am", resolve_timeout="1s").start()
    try:
        s = settings(
            ContactList("noc", (AlertmanagerTarget(am.url),)), alertmanager_repost_interval=0.3
        )
        ob = make_outbox(tmp_path, s)
        task = running(ob)
        enqueue(ob, tmp_path / "alerts.db", notification("n1"))
        await sink.wait_for(am_posts("/am", "firing"))
        await asyncio.sleep(3.0)  # three resolve_timeouts
        held = await am.alerts()
        assert [a["status"]["state"] for a in held] == ["active"]
        assert not am_posts("/am", "resolved")(sink.requests)

        # Control: without re-posts the same Alertmanager resolves it by itself.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sink.wait_for(am_posts("/am", "resolved"), timeout=10)
    finally:
        am.stop()


async def test_two_alertmanagers_one_down(tmp_path: Path, sink: HttpSink, running) -> None:
    am1 = await Alertmanager(tmp_path / "am1", f"{sink.url}/am1").start()
    am2 = await Alertmanager(tmp_path / "am2", f"{sink.url}/am2").start()
    am2.stop()  # down when the notification is sent; its port stays reserved for the restart
    try:
        ob = make_outbox(
            tmp_path,
            settings(
                ContactList("noc", (AlertmanagerTarget(am1.url), AlertmanagerTarget(am2.url)))
            ),
        )
        running(ob)
        enqueue(ob, tmp_path / "alerts.db", notification("n1"))
        await sink.wait_for(am_posts("/am1", "firing"))
        await asyncio.sleep(1.0)  # several backoff rounds against the dead one
        attempts, error = ob._conn.execute(
            "SELECT attempts, last_error FROM outbox WHERE receiver LIKE ?", (f"%{am2.port}%",)
        ).fetchone()
        assert attempts >= 2
        assert "ClientConnectorError" in error
        assert not any(r.path == "/am2" for r in sink.requests)

        await am2.start()
        reqs = await sink.wait_for(am_posts("/am2", "firing"), timeout=15)
        assert first(reqs, "/am2", "firing")["alerts"][0]["labels"]["village"] == "35.10.01.2001"
        # am1 got it once: it never waited for am2.
        assert sum(1 for r in reqs if r.path == "/am1") == 1
    finally:
        am1.stop()
        am2.stop()
