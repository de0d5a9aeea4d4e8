"""Residents' complaints against real measurements, end to end.

A district in test namespaces is pinged for real (tests/helpers/village_lab.py); the alert
engine and its outbox deliver to a webhook receiver on loopback; the public board runs in its
own process on 127.0.0.1 and complaints are real HTTP posts to it. The words asserted are the
issue's ("warga melaporkan Wi-Fi bermasalah, pengukuran normal: periksa DHCP/portal").
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.alerting.service import AlertService
from netwatch.core.complaint_settings import ComplaintAlertSettings
from netwatch.core.model import Inventory
from netwatch.core.notifications import ContactList, NotificationSettings
from netwatch.core.public_settings import ComplaintLimits
from netwatch.core.state import State, VillageStatus
from netwatch.public.board import PublicBoard, bind
from netwatch.public.complaint_feed import StoreFeed
from netwatch.public.texts import T
from tests.alerting.test_e2e_outage import PING, alerting, all_up, hook_events, until
from tests.helpers.http_sink import HttpSink
from tests.helpers.netns import Netlab, requires_root
from tests.helpers.procs import http_get
from tests.helpers.village_lab import District, monitoring
from tests.public.test_app import post, token_of

pytestmark = [requires_root, pytest.mark.root]

V1, V2 = "35.10.01.2001", "35.10.01.2002"
ISSUE_WORDS = "warga melaporkan Wi-Fi bermasalah, pengukuran normal: periksa DHCP/portal"


@dataclass
class Monitor:
    """What the board needs of a running monitor (netwatch.public.board.Monitor)."""

    inventory: Inventory
    state: State
    service: AlertService
    stops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def alerts(self) -> AlertService:
        return self.service

    def on_stop(self, coro_fn: Callable[[], Awaitable[None]]) -> None:
        self.stops.append(coro_fn)


@dataclass
class Lab:
    district: District
    service: AlertService
    board: PublicBoard
    url: str
    sink: HttpSink
    db: Path  # alert database
    complaints: Path

    async def complain(self, village: str, category: str = "cannot_connect") -> str:
        """One resident's report through the form, as a browser sends it; the receipt."""

        def send() -> str:
            form = http_get(f"{self.url}/{village}/lapor")[1]
            time.sleep(0.25)  # min_fill_seconds
            status, html = post(
                f"{self.url}/{village}/lapor", {"token": token_of(form), "category": category}
            )
            assert status == 200, html
            return html

        return await asyncio.to_thread(send)

    async def page(self, path: str) -> str:
        return (await asyncio.to_thread(http_get, self.url + path))[1]

    def hooks(self) -> list[dict]:
        return [r.json() for r in self.sink.requests if r.path == "/hook"]


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netwatch", *argv], capture_output=True, text=True, timeout=120
    )


@contextlib.asynccontextmanager
async def lab(tmp_path: Path) -> AsyncIterator[Lab]:
    sink = await HttpSink().start()
    contacts = ContactList("oncall", (WebhookTarget(sink.url + "/hook"),))
    notify = NotificationSettings(contacts=(contacts,), default_contacts="oncall")
    db, complaints = tmp_path / "alerts.sqlite3", tmp_path / "complaints.sqlite3"
    settings = alerting(db, complaints=ComplaintAlertSettings(threshold=3, window=3600.0))
    try:
        with Netlab() as netlab:
            district = District(netlab, villages=2)
            inv = district.inventory(settings, PING, notify)
            public = dataclasses.replace(
                inv.settings.public,
                complaints_db=str(complaints),
                complaints=ComplaintLimits(per_address=50, min_fill_seconds=0.2),
            )
            inv = dataclasses.replace(
                inv, settings=dataclasses.replace(inv.settings, public=public)
            )
            state = State(inv)
            async with monitoring(district, inv, traceroute=False, state=state) as service:
                # As netwatch.core.runtime wires it: the store's feed and the rollup.
                service.engine.correlation.feed = StoreFeed(str(complaints))
                service.engine.correlation.measured_up = lambda code: (
                    state.village_status(code) is VillageStatus.UP
                )
                monitor = Monitor(inv, state, service)
                sock = bind("127.0.0.1:0")
                board = PublicBoard(monitor, sock)
                await board.start()
                try:
                    url = "http://" + board.address()
                    await until(lambda: board.up, 30, "the board's first view")
                    # The form needs the view to have reached the page server too (under load
                    # the first answer can still be the "loading" page: CI saw it once).
                    for _ in range(300):
                        form = (await asyncio.to_thread(http_get, f"{url}/{V1}/lapor"))[1]
                        if 'name="token"' in form:
                            break
                        await asyncio.sleep(0.1)
                    else:
                        raise AssertionError("the complaint form was never served")
                    yield Lab(district, service, board, url, sink, db, complaints)
                finally:
                    await board.stop()
    finally:
        await sink.stop()


async def test_reports_while_measured_up_raise_one_warning_until_closed(tmp_path):
    async with lab(tmp_path) as t:
        await all_up(t.service, [V1, V2])
        for _ in range(2):
            await t.complain(V1)
        await t.complain(V2)  # another village's report never adds up with V1's
        await asyncio.sleep(3.0)  # a dozen evaluations: below the threshold nothing fires
        assert t.hooks() == []
        receipt = await t.complain(V1)
        assert T["id"]["receipt_measured_ok"] in receipt
        await until(lambda: t.hooks(), 20, "the complaint warning")
        await t.complain(V1)  # a fourth: attached, no second alert
        await asyncio.sleep(3.0)
        (hook,) = t.hooks()
        assert (hook["event"], hook["alert"]["labels"]["alertname"]) == (
            "firing",
            "VillageWifiComplaints",
        )
        assert hook["alert"]["labels"]["severity"] == "warning"
        assert hook["alert"]["labels"]["village"] == V1
        assert ISSUE_WORDS in hook["text"] and "3 laporan" in hook["text"]
        assert "mati" not in (hook["text"] + hook["title"]).lower()
        assert hook["title"].startswith("[LAPORAN WARGA]")

        page = await t.page(f"/{V1}")
        assert T["id"]["reports_forwarded"] in page
        assert "4 laporan warga diterima" in page
        english = await t.page(f"/{V1}?lang=en")
        assert T["en"]["reports_forwarded"] in english.replace("&#x27;", "'")
        other = await t.page(f"/{V2}")
        assert T["id"]["measured_ok"] in other  # one report: recorded, not forwarded

        listed = cli("alerts", "list", "--json", "--db", str(t.db))
        (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
        assert row["alertname"] == "VillageWifiComplaints" and row["complaints"] == 4
        mine = cli("complaints", "list", "--json", "--db", str(t.complaints), "--village", V1)
        rows = [json.loads(line) for line in mine.stdout.splitlines()]
        assert sorted(r["id"] for r in rows) == [1, 2, 4, 5]
        assert {r["alert_id"] for r in rows} == {row["id"]}

        closed = cli("complaints", "close", "1", "2", "4", "5", "--db", str(t.complaints))
        assert closed.returncode == 0, closed.stderr
        await until(lambda: len(t.hooks()) >= 2, 20, "the resolution")
        end = t.hooks()[1]
        assert (end["event"], end["alert"]["labels"]["alertname"]) == (
            "resolved",
            "VillageWifiComplaints",
        )
        assert end["title"].startswith("[SELESAI]") and "mati" not in end["text"].lower()
        await until(
            lambda: T["id"]["reports_done"] in http_get(f"{t.url}/{V1}")[1], 20, "page: done"
        )


async def test_reports_during_an_outage_join_its_alert(tmp_path):
    async with lab(tmp_path) as t:
        await all_up(t.service, [V1, V2])
        t.district.ap_links[1].set_up(False)  # village 1's access point is cut off
        await until(lambda: t.hooks(), 30, "the outage alert")
        await until(
            lambda: T["id"]["known"] in http_get(f"{t.url}/{V1}")[1], 20, "page: outage known"
        )
        receipts = [await t.complain(V1, "no_signal") for _ in range(4)]
        assert all(T["id"]["receipt_known"] in r for r in receipts)
        await until(
            lambda: any(a.complaints == 4 for a in t.service.snapshot().alerts), 20, "attached"
        )
        await asyncio.sleep(3.0)
        assert [(h["event"], h["alert"]["labels"]["alertname"]) for h in t.hooks()] == [
            ("firing", "VillageWifiDown")
        ]  # no complaint warning beside the outage
        listed = cli("alerts", "list", "--json", "--db", str(t.db))
        (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
        assert row["alertname"] == "VillageWifiDown" and row["complaints"] == 4
        page = await t.page(f"/{V1}")
        assert T["id"]["known"] in page and "4 laporan warga diterima" in page

        t.district.restore(t.district.ap_links[1])
        await until(lambda: len(t.hooks()) >= 2, 30, "the outage's end")
        await asyncio.sleep(3.0)  # up again with four open reports: they are explained
        assert hook_events(t.sink) == [
            ("firing", "VillageWifiDown"),
            ("resolved", "VillageWifiDown"),
        ]
        assert "Laporan warga terkait: 4." in t.hooks()[1]["text"]
        assert t.hooks()[1]["alert"]["complaints"] == 4
