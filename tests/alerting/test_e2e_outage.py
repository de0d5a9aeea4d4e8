"""End to end in test namespaces: real pings, scheduler, engine, outbox and receivers.

A district (POP router, two villages with a router and an AP each) is monitored from `core`.
Receivers are real: Debian's Alertmanager (its webhook into a local sink), the webhook
notifier (the same sink) and aiosmtpd over STARTTLS; what they got is what we assert.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from netwatch.alerting.notifiers.alertmanager import AlertmanagerTarget
from netwatch.alerting.notifiers.email import EmailTarget
from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.core.model import AlertingSettings, MaintenanceWindow, PingSettings, SecretRef
from netwatch.core.notifications import ContactList, NotificationSettings
from tests.helpers.alertmanager import Alertmanager
from tests.helpers.http_sink import HttpSink
from tests.helpers.netns import Netlab, requires_root
from tests.helpers.smtp import SmtpServer
from tests.helpers.village_lab import District, monitoring

pytestmark = [requires_root, pytest.mark.root]

V1 = "35.10.01.2001"
PING = PingSettings(interval=1.0, count=5, spacing=0.05, timeout=0.3)


def alerting(db: Path, **kw) -> AlertingSettings:
    base = dict(
        db_path=str(db),
        tick=0.2,
        renotify_interval=0.0,
        escalate_after=0.0,
        traceroute_timeout=0.3,
        traceroute_wait=3.0,
        upstream_wait=4.0,
        dependency_grace=3.0,
    )
    base.update(kw)
    return AlertingSettings(**base)


async def until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def hook_events(sink: HttpSink) -> list[tuple[str, str]]:
    return [
        (r.json()["event"], r.json()["alert"]["labels"]["alertname"])
        for r in sink.requests
        if r.path == "/hook"
    ]


def am_statuses(sink: HttpSink) -> list[tuple[str, str, str]]:
    """(status, alertname, village-or-device) of each alert in Alertmanager's webhook calls."""
    out = []
    for r in sink.requests:
        if r.path == "/am":
            for a in r.json()["alerts"]:
                lab = a["labels"]
                out.append((a["status"], lab["alertname"], lab.get("village") or lab["device"]))
    return out


def subjects(smtp: SmtpServer) -> list[str]:
    return [
        str(email.message_from_bytes(m.content, policy=email.policy.default)["Subject"])
        for m in smtp.handler.messages
    ]


@pytest.fixture
async def receivers(tmp_path, monkeypatch):
    monkeypatch.setenv("NW_E2E_SMTP_PW", "rahasia")
    sink = await HttpSink().start()
    am = Alertmanager(tmp_path / "am", webhook_url=sink.url + "/am", group_interval="200ms")
    await am.start()
    smtp = SmtpServer(tmp_path, {"noc": "rahasia"}).start()
    mail = EmailTarget(
        to=("noc@kominfo.example",),
        host="127.0.0.1",
        port=smtp.port,
        username="noc",
        password=SecretRef(env="NW_E2E_SMTP_PW"),
        ca_file=str(smtp.cert_path),
    )
    contacts = ContactList(
        "oncall", (AlertmanagerTarget(am.url), WebhookTarget(sink.url + "/hook"), mail)
    )
    settings = NotificationSettings(contacts=(contacts,), default_contacts="oncall")
    try:
        yield sink, smtp, settings
    finally:
        am.stop()
        smtp.stop()
        await sink.stop()


async def all_up(service, villages) -> None:
    await until(
        lambda: all(service.snapshot().recorded.get(c) == "up" for c in villages),
        20,
        "every village up",
    )


async def test_ap_down_then_back_one_notification_each(tmp_path, receivers):
    sink, smtp, notify = receivers
    with Netlab() as lab:
        district = District(lab, villages=2)
        inv = district.inventory(alerting(tmp_path / "a.db"), PING, notify)
        async with monitoring(district, inv) as service:
            await all_up(service, inv.villages)
            t0 = time.monotonic()
            district.ap_links[1].set_up(False)
            await until(lambda: hook_events(sink), 30, "the firing webhook")
            detection = time.monotonic() - t0
            await until(
                lambda: am_statuses(sink) and len(smtp.handler.messages) >= 1, 15, "AM+mail"
            )
            await asyncio.sleep(2.0)  # anything extra would show up now
            assert hook_events(sink) == [("firing", "VillageWifiDown")]
            assert am_statuses(sink) == [("firing", "VillageWifiDown", V1)]
            assert len(subjects(smtp)) == 1 and "MATI" in subjects(smtp)[0]
            body = next(r.json() for r in sink.requests if r.path == "/hook")
            assert body["alert"]["down_devices"] == ["ap-1-1-1"]
            assert detection < 15, detection

            district.restore(district.ap_links[1])
            await until(lambda: len(hook_events(sink)) >= 2, 30, "the resolved webhook")
            await until(
                lambda: len(am_statuses(sink)) >= 2 and len(smtp.handler.messages) >= 2,
                15,
                "AM+mail resolution",
            )
            await asyncio.sleep(2.0)
            assert hook_events(sink) == [
                ("firing", "VillageWifiDown"),
                ("resolved", "VillageWifiDown"),
            ]
            assert am_statuses(sink) == [
                ("firing", "VillageWifiDown", V1),
                ("resolved", "VillageWifiDown", V1),
            ]
            assert len(smtp.handler.messages) == 2 and "PULIH" in subjects(smtp)[1]


async def test_district_cut_one_root_cause_then_resolution(tmp_path, receivers):
    sink, _smtp, notify = receivers
    with Netlab() as lab:
        district = District(lab, villages=2)
        inv = district.inventory(alerting(tmp_path / "a.db"), PING, notify)
        async with monitoring(district, inv) as service:
            await all_up(service, inv.villages)
            district.uplink.set_up(False, side="b")  # the POP's uplink port dies
            await until(lambda: hook_events(sink), 30, "the root-cause webhook")
            await asyncio.sleep(4.0)  # villages would have fired by now
            assert hook_events(sink) == [("firing", "UpstreamDown")]
            body = next(r.json() for r in sink.requests if r.path == "/hook")
            assert body["alert"]["labels"]["device"] == "pop-1"
            assert body["alert"]["affected_villages"] == ["35.10.01.2001", "35.10.01.2002"]
            assert body["alert"]["path_break"] == "127.100.0.1 (hop 0)"  # core's own link
            assert set(service.snapshot().recorded.values()) == {"unreachable-upstream"}
            district.restore(district.uplink)
            await until(lambda: len(hook_events(sink)) >= 2, 30, "the resolution")
            await asyncio.sleep(4.0)  # past the dependency grace: no village alert follows
            assert hook_events(sink) == [("firing", "UpstreamDown"), ("resolved", "UpstreamDown")]
            await until(lambda: len(am_statuses(sink)) >= 2, 10, "AM resolution")
            assert am_statuses(sink) == [
                ("firing", "UpstreamDown", "pop-1"),
                ("resolved", "UpstreamDown", "pop-1"),
            ]


async def test_maintenance_window_holds_notifications_not_history(tmp_path, receivers):
    sink, smtp, notify = receivers
    import datetime as dt

    now = dt.datetime.now(dt.UTC)
    window = MaintenanceWindow(
        "ganti kabel",
        start=(now - dt.timedelta(minutes=5)).isoformat(),
        end=(now + dt.timedelta(minutes=30)).isoformat(),
        villages=(V1,),
    )
    with Netlab() as lab:
        district = District(lab, villages=2)
        settings = alerting(tmp_path / "a.db", maintenance=(window,))
        inv = district.inventory(settings, PING, notify)
        async with monitoring(district, inv) as service:
            await all_up(service, inv.villages)
            district.village_links[1].set_up(False, side="b")  # village 1's router cut off
            await until(lambda: service.snapshot().recorded.get(V1) == "down", 30, "down recorded")
            await asyncio.sleep(3.0)
            assert service.snapshot().shown[V1] == "maintenance"
            assert hook_events(sink) == [] and am_statuses(sink) == []
            assert smtp.handler.messages == []
    db = sqlite3.connect(tmp_path / "a.db")
    states = [
        s
        for (s,) in db.execute(
            "SELECT state FROM village_states WHERE village = ? ORDER BY since", (V1,)
        )
    ]
    assert states == ["up", "down"]
    (held,) = db.execute("SELECT suppressed_by FROM alerts WHERE state = 'firing'").fetchone()
    assert held == "maintenance:ganti kabel"
