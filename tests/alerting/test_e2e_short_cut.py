"""End to end: a power cut of a few seconds at a village is one page, not a second one later.

A district in test namespaces (core ── pop ── rtr-1-1 ── ap-1-1-1, tests/helpers/village_lab.py)
is monitored from `core` with real echoes, the alert engine and the webhook notifier posting to a
real HTTP server. The village's power is cut (its router drops every packet that reaches it:
the AP behind it goes silent too) and comes back just after the router's "down" verdict, before
the AP's: the AP's echoes sent during the cut are still in flight then, and time out after the
village is back. They belong to the village's episode: no late "down" for the AP, no second
page (`ap_down`) after the resolution. An AP that stays dark after the router is back still
gets its own page.

The race is made deterministic rather than waited for: the cut falls where the router's steady
echo is the first to be lost (the AP's follows `LAG` later, the stream's phases of the two
names), the power comes back the moment the village's page is decided, and the router is asked
for an echo at once (as a trap or its steady echo falling then would), so the village resolves
while the AP's last echoes of the cut have up to `LAG` left before their timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.alerting.service import AlertService
from netwatch.collectors.icmp.observation import DOWN, ROUND, PingObservation
from netwatch.collectors.icmp.probe_state import phase
from netwatch.core.model import PingSettings
from netwatch.core.notifications import ContactList, NotificationSettings
from netwatch.core.state import State
from tests.alerting.test_e2e_outage import alerting, all_up, until
from tests.helpers.http_sink import HttpSink
from tests.helpers.netns import Namespace, Netlab, requires_root
from tests.helpers.village_lab import District, monitoring

pytestmark = [requires_root, pytest.mark.root]

V1, ROUTER, AP = "35.10.01.2001", "rtr-1-1", "ap-1-1-1"
# A steady echo every 1.2 s per device; a loss starts a burst 50 ms apart; 8 in a row: down.
PING = PingSettings(interval=6.0, count=5, spacing=0.05, timeout=1.0, down_echoes=8)
PERIOD = PING.interval / PING.count
LAG = (phase(AP, PERIOD) - phase(ROUTER, PERIOD)) % PERIOD  # the AP's echo after the router's
# A box without power: every IP packet that reaches it is gone. (A link taken down instead
# makes the gateway queue the echoes of the cut while it resolves the box's address again, and
# deliver them late, answered, once the link is back: a dark village's echoes are just lost.)
POWER_OFF = (
    "table inet nwpower {\n chain pre {\n"
    "  type filter hook prerouting priority -300;\n  drop\n }\n}\n"
)


def power(ns: Namespace, on: bool) -> None:
    if on:
        ns.run("nft", "delete", "table", "inet", "nwpower")
    else:
        ns.nft(POWER_OFF)


class Village:
    """The village's power switch, driven by what the echo stream reports (a State listener)."""

    def __init__(self, district: District) -> None:
        self.district = district
        self.last: dict[str, PingObservation] = {}
        self.seen: list[tuple[float, PingObservation]] = []  # (wall time, report)
        self.cut_at_round = False  # cut when the AP's next round report comes
        self.cut_at = 0.0
        self.router_down = asyncio.Event()

    def __call__(self, _device_state: object, obs: object) -> None:
        if not isinstance(obs, PingObservation):
            return
        self.last[obs.device] = obs
        self.seen.append((time.time(), obs))
        if self.cut_at_round and obs.device == AP and obs.event == ROUND:
            # The AP's round ends just after its steady echo: cut between it and the router's
            # next one, so the router's is the first echo lost and the AP's comes LAG later.
            self.cut_at_round = False
            asyncio.get_running_loop().call_later((PERIOD - LAG) / 2, self._cut)
        if obs.device == ROUTER and obs.event == DOWN and self.cut_at:
            self.router_down.set()

    def _cut(self) -> None:
        self.cut_at = time.time()
        power(self.district.lab.namespaces["r1"], False)  # the village's power is off

    def of(self, device: str, event: str, since: float) -> list[PingObservation]:
        return [o for t, o in self.seen if o.device == device and o.event == event and t >= since]


def pages(sink: HttpSink) -> list[tuple[str, str, str]]:
    """(event, alertname and village or device, cause) of every webhook post."""
    out = []
    for r in sink.requests:
        if r.path == "/hook":
            body = r.json()
            labels = body["alert"]["labels"]
            where = labels.get("village") or labels.get("device", "")
            out.append((body["event"], f"{labels['alertname']} {where}", body["alert"]["cause"]))
    return out


async def _power_back_after_router_verdict(
    service: AlertService, district: District, village: Village, also: Callable[[], None]
) -> float:
    """Cut the village's power; restore it right after the router's down verdict, while the
    AP has no verdict yet and its echoes of the cut are in flight. Returns when it came back."""
    village.cut_at_round = True
    await asyncio.wait_for(village.router_down.wait(), PING.interval + 10)
    # The village's page is decided (in the evaluation after the router's verdict) ...
    await until(lambda: service.snapshot().recorded.get(V1) == "down", 2, "village down")
    ap = village.last[AP]
    # ... and the AP is losing echoes without a verdict. Its verdict is due LAG after the
    # router's and its last deciding echo goes out a timeout before that (LAG < timeout):
    # every echo that decides it was sent during the cut and is in flight or lost.
    assert ap.up is True and ap.failing, ("the AP is not between its run and its verdict", ap)
    also()
    power(district.lab.namespaces["r1"], True)  # the power is back
    back = time.time()
    request = service.engine.intake.request_poll
    assert request is not None
    request(ROUTER, "ping", "power back")  # the router's answer is seen at once
    return back


async def _scenario(tmp: Path, sink: HttpSink, ap_stays_dark: bool) -> None:
    notify = NotificationSettings(
        contacts=(ContactList("oncall", (WebhookTarget(sink.url + "/hook"),)),),
        default_contacts="oncall",
    )
    # The race needs the AP's echo LAG after the router's, LAG well inside a timeout, and
    # room on both sides of the cut (tests the names' phases, not the code under test).
    assert 0.3 < LAG < PING.timeout - 0.3 and PERIOD - LAG > 0.5, LAG
    with Netlab(prefix="nwlatedown") as lab:
        district = District(lab, villages=1)
        settings = alerting(tmp / "a.db", flap_threshold=100, traceroute=False)
        inv = district.inventory(settings, PING, notify)
        state = State(inv)
        village = Village(district)
        state.add_listener(village)
        async with monitoring(district, inv, traceroute=False, state=state) as service:
            await all_up(service, inv.villages)
            ap = district.lab.namespaces["a1"]
            also = (lambda: power(ap, False)) if ap_stays_dark else (lambda: None)
            back = await _power_back_after_router_verdict(service, district, village, also)
            await until(lambda: len(pages(sink)) >= 2, 10, "the village's resolution")
            router_down = f"router_down:{ROUTER}"
            assert pages(sink) == [
                ("firing", f"VillageWifiDown {V1}", router_down),
                ("resolved", f"VillageWifiDown {V1}", router_down),
            ]
            if not ap_stays_dark:
                # Past every deadline of the AP's echoes sent during the cut, and a burst more.
                await asyncio.sleep(2 * PING.timeout + PING.down_echoes * PING.spacing + 1.0)
                assert pages(sink) == [
                    ("firing", f"VillageWifiDown {V1}", router_down),
                    ("resolved", f"VillageWifiDown {V1}", router_down),
                ]
                assert village.of(AP, DOWN, village.cut_at) == [], "a late down for the AP"
                return
            # The AP stays dark after the router is back: its own page comes.
            await until(lambda: len(pages(sink)) >= 3, 15, "the AP's own page")
            ap_down = f"ap_down:{AP}"
            assert pages(sink)[2] == ("firing", f"VillageWifiDown {V1}", ap_down)
            (verdict,) = village.of(AP, DOWN, village.cut_at)
            # Its verdict rests on echoes sent after the power came back.
            assert verdict.fail_since is not None and verdict.fail_since > back, (verdict, back)
            power(ap, True)
            await until(lambda: len(pages(sink)) >= 4, 15, "the AP's resolution")
            await asyncio.sleep(1.0)  # anything extra would show by now
            assert pages(sink) == [
                ("firing", f"VillageWifiDown {V1}", router_down),
                ("resolved", f"VillageWifiDown {V1}", router_down),
                ("firing", f"VillageWifiDown {V1}", ap_down),
                ("resolved", f"VillageWifiDown {V1}", ap_down),
            ]


async def test_power_back_between_router_and_ap_verdicts_is_one_page(tmp_path, sink):
    await _scenario(tmp_path, sink, ap_stays_dark=False)


async def test_an_ap_dark_after_the_router_is_back_gets_its_own_page(tmp_path, sink):
    await _scenario(tmp_path, sink, ap_stays_dark=True)
