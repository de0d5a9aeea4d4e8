"""Issue 16 in test namespaces: the right box is blamed, and a warning is worded as one.

A district (POP router, two villages of router + AP) is monitored from `core` with real
echoes; the webhook receiver is a real HTTP server. A whole village goes silent when its
router's link is cut (the AP hangs behind the router); loss on the POP's link is a warning.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest

from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.core.model import PingSettings
from netwatch.core.notifications import ContactList, NotificationSettings
from tests.alerting.test_e2e_outage import alerting, all_up, until
from tests.helpers.http_sink import HttpSink
from tests.helpers.netns import Netlab, requires_root
from tests.helpers.village_lab import District, monitoring

pytestmark = [requires_root, pytest.mark.root]

PING = PingSettings(interval=1.0, count=5, spacing=0.05, timeout=0.3)
OUTAGE_WORDS = re.compile(r"\b(down|mati)\b", re.IGNORECASE)


def hooks(sink: HttpSink) -> list[dict]:
    return [r.json() for r in sink.requests if r.path == "/hook"]


@pytest.fixture
async def webhook():
    sink = await HttpSink().start()
    notify = NotificationSettings(
        contacts=(ContactList("oncall", (WebhookTarget(sink.url + "/hook"),)),),
        default_contacts="oncall",
    )
    try:
        yield sink, notify
    finally:
        await sink.stop()


async def test_whole_village_silent_is_router_down_naming_the_router(tmp_path, webhook):
    """Router and AP both silent: `router_down` naming the router, from firing to resolved,
    whichever of the two was found silent first (three outages at different moments)."""
    sink, notify = webhook
    with Netlab() as lab:
        district = District(lab, villages=2)
        settings = alerting(tmp_path / "a.db", flap_threshold=100, traceroute=False)
        inv = district.inventory(settings, PING, notify)
        async with monitoring(district, inv, traceroute=False) as service:
            await all_up(service, inv.villages)
            for trial in range(3):
                await asyncio.sleep(0.37 * trial)  # another moment in the devices' cycles
                seen = len(hooks(sink))
                district.village_links[1].set_up(False, side="b")  # r1 and a1 behind it
                await until(lambda n=seen: len(hooks(sink)) > n, 30, "the firing")
                district.restore(district.village_links[1])
                await until(lambda n=seen: len(hooks(sink)) > n + 1, 30, "the resolved")
                await asyncio.sleep(1.0)  # an update or a second alert would show by now
                got = hooks(sink)[seen:]
                assert [(b["event"], b["alert"]["labels"]["alertname"]) for b in got] == [
                    ("firing", "VillageWifiDown"),
                    ("resolved", "VillageWifiDown"),
                ], (trial, got)
                firing, resolved = got
                assert firing["alert"]["cause"] == "router_down:rtr-1-1", (trial, firing)
                # The router first; the AP too once its own verdict is in.
                assert firing["alert"]["down_devices"][0] == "rtr-1-1"
                assert set(firing["alert"]["down_devices"]) <= {"rtr-1-1", "ap-1-1-1"}
                assert "rtr-1-1" in firing["text"] and "router desa" in firing["text"]
                assert resolved["alert"]["cause"] == firing["alert"]["cause"]
                await all_up(service, inv.villages)


async def test_ap_alone_is_ap_down(tmp_path, webhook):
    sink, notify = webhook
    with Netlab() as lab:
        district = District(lab, villages=2)
        settings = alerting(tmp_path / "a.db", traceroute=False)
        inv = district.inventory(settings, PING, notify)
        async with monitoring(district, inv, traceroute=False) as service:
            await all_up(service, inv.villages)
            district.ap_links[2].set_up(False)
            await until(lambda: hooks(sink), 30, "the firing")
            await asyncio.sleep(1.0)
            (firing,) = hooks(sink)
            assert firing["alert"]["labels"]["village"] == "35.10.01.2002"
            assert firing["alert"]["cause"] == "ap_down:ap-1-2-1"
            assert firing["alert"]["down_devices"] == ["ap-1-2-1"]


async def test_loss_on_the_district_link_is_a_warning_worded_as_one(tmp_path, webhook):
    """30 % loss entering the POP: one UpstreamDegraded whose title and text never say the
    POP is down (the issue saw "[GANGGUAN HULU] kec02-pop ... mati")."""
    sink, notify = webhook
    with Netlab() as lab:
        district = District(lab, villages=2)
        settings = alerting(
            tmp_path / "a.db",
            traceroute=False,
            degraded_rounds=4,
            degraded_for=2.0,
        )
        inv = district.inventory(settings, PING, notify)
        async with monitoring(district, inv, traceroute=False) as service:
            await all_up(service, inv.villages)
            district.lab.namespaces["pop"].nft(
                "table inet nwloss {\n chain pre {\n  type filter hook prerouting priority 0;\n"
                "  meta l4proto icmp numgen random mod 100 < 30 drop\n }\n}\n"
            )
            t0 = time.monotonic()
            await until(
                lambda: any(
                    b["alert"]["labels"]["alertname"] == "UpstreamDegraded" for b in hooks(sink)
                ),
                40,
                "the UpstreamDegraded warning",
            )
            print(f"warning after {time.monotonic() - t0:.1f} s")
    got = hooks(sink)
    critical = [b for b in got if b["alert"]["labels"]["severity"] == "critical"]
    assert critical == []
    warning = next(b for b in got if b["alert"]["labels"]["alertname"] == "UpstreamDegraded")
    assert warning["event"] == "firing" and warning["alert"]["cause"] == "high_loss"
    assert warning["alert"]["labels"]["device"] == "pop-1"
    assert not OUTAGE_WORDS.search(warning["title"]), warning["title"]
    assert not OUTAGE_WORDS.search(warning["text"]), warning["text"]
    assert warning["title"].startswith("[HULU TERGANGGU] pop-1")
