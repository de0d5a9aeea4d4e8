"""10% random loss on every box (nftables) over hundreds of sub-second rounds: no down alert."""

from __future__ import annotations

import asyncio

import pytest

from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.collectors.icmp import PLUGIN as ICMP
from netwatch.core.model import PingSettings
from netwatch.core.notifications import ContactList, NotificationSettings
from netwatch.core.state import State
from tests.alerting.test_e2e_outage import alerting, all_up, hook_events
from tests.helpers.http_sink import HttpSink
from tests.helpers.netns import Netlab, requires_root
from tests.helpers.village_lab import District, monitoring

pytestmark = [requires_root, pytest.mark.root]

FAST = PingSettings(interval=0.1, count=5, spacing=0.01, timeout=0.1)
RUN_SECONDS = 25.0


def echoes(ds) -> tuple[int, int]:
    """The device's echo requests sent and replies received so far (its ICMP state)."""
    icmp = ds.part(ICMP)
    return icmp.echo_sent_total, icmp.echo_received_total


async def test_lossy_links_never_page(tmp_path):
    sink = await HttpSink().start()
    notify = NotificationSettings(
        contacts=(ContactList("oncall", (WebhookTarget(sink.url + "/hook"),)),),
        default_contacts="oncall",
    )
    try:
        with Netlab() as lab:
            district = District(lab, villages=2)
            inv = district.inventory(alerting(tmp_path / "a.db"), FAST, notify)
            state = State(inv)
            async with monitoring(district, inv, traceroute=False, state=state) as service:
                await all_up(service, inv.villages)
                district.loss(10)
                before = {n: echoes(ds) for n, ds in state.devices.items()}
                await asyncio.sleep(RUN_SECONDS)
                sent = {n: echoes(ds)[0] - before[n][0] for n, ds in state.devices.items()}
                got = {n: echoes(ds)[1] - before[n][1] for n, ds in state.devices.items()}
    finally:
        await sink.stop()
    rounds = min(sent.values()) // FAST.count
    assert rounds >= 100, f"only {rounds} rounds per device"
    # The loss really happened: an AP's echo crosses five lossy hops (three in, two back),
    # so 1 - 0.9**5 = 41% of its echoes are lost; 4 standard deviations either side.
    ap_loss = 1 - got["ap-1-1-1"] / sent["ap-1-1-1"]
    assert abs(ap_loss - (1 - 0.9**5)) < 0.08, ap_loss
    print(f"rounds per device >= {rounds}, AP echo loss {ap_loss:.1%}, {hook_events(sink)}")
    warnings = {"VillageWifiDegraded", "UpstreamDegraded"}
    critical = [e for e in hook_events(sink) if e[1] not in warnings]
    assert critical == [], critical
