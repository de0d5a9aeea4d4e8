"""High availability end to end: 3 shards x 2 replicas of `netwatch run`, a 2-node Alertmanager
cluster, Prometheus with the shipped dead-man rules, a webhook receiver behind Alertmanager,
on 4 districts x 5 villages of Banyuwangi in network namespaces (real ICMP, SNMP on the POPs).

One test, in phases (each needs the state the last one left), counting what the receiver got
by alert identity:
1. a village goes down: one firing notification; kill -9 one replica of its shard in the middle
   of the outage; the village comes back: one resolved notification; the killed replica comes
   back with the open alert in its database and says nothing more;
2. both replicas of a shard are killed: one NetwatchShardDown naming its district and its
   villages within 2 minutes; they come back: it resolves;
3. a fourth shard is added and a district moves to it (a village of it is down all along):
   its villages never go longer than one ping interval without an echo request, and the
   move raises nothing: the outage stays one alert (one firing, one resolved, by shard 3).
"""

from __future__ import annotations

import collections
import shutil
import time
from pathlib import Path

import pytest

from netwatch.cluster.assign import inventory_plan
from netwatch.config import load_inventory
from tests.helpers.cluster_lab import (
    AlertmanagerCluster,
    EchoWatch,
    Hook,
    Instances,
    Prometheus,
    Regency,
)
from tests.helpers.netns import Netlab, requires_root
from tests.helpers.procs import wait_for

pytestmark = [requires_root, pytest.mark.root]

CODES = ("35.10.01", "35.10.02", "35.10.04", "35.10.08")
INTERVAL = 1.0  # the ping interval of the test config
SETTINGS = """\
  ping: {{interval: 1s, count: 2, spacing: 100ms, timeout: 500ms}}
  snmp: {{interval: 5s, timeout: 1s, retries: 0}}
  cluster: {{shards: {shards}, replicas: 2}}
  alerting: {{tick: 500ms, traceroute: false}}
  notifications:
    alertmanager_repost_interval: 2s
    delivery: {{min_backoff: 200ms, max_backoff: 2s, poll_interval: 200ms}}
    default_contacts: noc
    contacts:
      - name: noc
        alertmanager: [{am0}, {am1}]
"""
ENGINE_ALERTS = ("VillageWifiDown", "VillageWifiDegraded", "UpstreamDown", "UpstreamDegraded")


def identity(labels: dict[str, str]) -> tuple[str, str]:
    return labels["alertname"], labels.get("village") or labels.get("device") or labels.get(
        "shard", ""
    )


def received(hook: Hook) -> dict[tuple[str, str], collections.Counter[str]]:
    """Notifications by alert identity: how many firing, how many resolved."""
    got: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    for status, labels, _, _ in hook.alerts():
        got[identity(labels)][status] += 1
    return got


def arrived(hook: Hook, alertname: str, key: str, status: str) -> dict[str, str] | None:
    """The annotations of the first notification of (alertname, key) in status, if any."""
    for st, labels, notes, _ in hook.alerts():
        if st == status and identity(labels) == (alertname, key):
            return notes or {"": ""}
    return None


def test_two_replicas_per_shard_page_once_and_hand_over(tmp_path: Path) -> None:
    for tool in ("prometheus-alertmanager", "prometheus", "snmpd"):
        assert shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists(), f"{tool} missing"
    started = time.monotonic()
    with Netlab() as lab:
        regency = Regency(lab, CODES)
        hook = Hook(regency.core)
        try:
            run(tmp_path, regency, hook, started)
        finally:
            hook.close()
            regency.close()


def run(work: Path, regency: Regency, hook: Hook, started: float) -> None:
    core = regency.core
    am = AlertmanagerCluster(core, work, hook.url)
    config = work / "netwatch.yaml"

    def write(shards: int) -> None:
        text = SETTINGS.format(shards=shards, am0=am.urls[0], am1=am.urls[1])
        config.write_text(regency.config(text))

    write(3)
    plan3 = inventory_plan(load_inventory(config), 3)
    plan4 = inventory_plan(load_inventory(config), 4)
    # The lab's districts were picked so that the plan uses every shard and one district
    # (Bangorejo) moves when a fourth shard is added; the phases below rely on it.
    assert plan3 == {"35.10.01": 2, "35.10.02": 0, "35.10.04": 1, "35.10.08": 0}, plan3
    assert plan4 == {**plan3, "35.10.02": 3}, plan4

    nw = Instances(core, work, config)
    first = [f"{s}-{r}" for s in range(3) for r in "ab"]
    for name in (*first, "3-a", "3-b"):
        nw.port(name)
    for name in first:
        nw.start(name)
    prom = Prometheus(core, work, nw.ports, am.urls)
    nw.wait_ready(first)
    wait_for(am.settled, 60, "the Alertmanager cluster settled", 0.5)
    wait_for(
        lambda: (
            len(prom.query("netwatch_heartbeat_timestamp_seconds")) == 6
            and len(prom.query("netwatch_snmp_up == 1")) == 8
        ),  # 4 POPs x 2 replicas, over SNMP
        60,
        "Prometheus scraping six heartbeats and the POPs' SNMP",
        0.5,
    )
    print(f"cluster up after {time.monotonic() - started:.0f} s")

    # -- 1. an outage, one replica of its shard killed in the middle -------------------------
    x = regency.districts[2].villages[0]  # Tegaldlimo: shard 1
    regency.cut(x.code)
    wait_for(lambda: arrived(hook, "VillageWifiDown", x.code, "firing"), 30, "X firing", 0.2)
    nw.kill9("1-a")
    reposts = nw.metric("1-b", "netwatch_alertmanager_reposts_total", result="ok")
    wait_for(  # the survivor keeps the alert alive in both Alertmanagers (3 re-post rounds)
        lambda: nw.metric("1-b", "netwatch_alertmanager_reposts_total", result="ok") >= reposts + 6,
        30,
        "re-posts by the surviving replica",
        0.5,
    )
    for i in range(2):
        active = [a for a in am.alerts(i) if a["labels"].get("village") == x.code]
        assert [a["status"]["state"] for a in active] == ["active"], active
    regency.restore(x.code)
    wait_for(lambda: arrived(hook, "VillageWifiDown", x.code, "resolved"), 30, "X resolved", 0.2)
    nw.start("1-a")  # back with X still open in its database: it must not revive it
    nw.wait_ready(["1-a"])
    wait_for(lambda: nw.metric("1-a", "netwatch_alerts_firing") == 0, 30, "1-a settled", 0.3)
    print(f"phase 1 done after {time.monotonic() - started:.0f} s")

    # -- 2. a whole shard dies: the dead-man's switch -----------------------------------------
    dead = regency.districts[0]  # Pesanggaran: shard 2
    killed = time.monotonic()
    nw.kill9("2-a")
    nw.kill9("2-b")
    page = wait_for(
        lambda: arrived(hook, "NetwatchShardDown", "2", "firing"), 120, "ShardDown", 0.5
    )
    assert time.monotonic() - killed <= 120
    print(f"dead-man notification {time.monotonic() - killed:.0f} s after the kill")
    assert "Pesanggaran (Banyuwangi): 5" in page["districts"], page
    for v in dead.villages:
        assert f"{v.name} {v.code}" in page["villages"], (v, page)
    for other in (regency.districts[1], regency.districts[2]):
        assert other.villages[0].code not in page["villages"]
    nw.start("2-a")
    nw.start("2-b")
    nw.wait_ready(["2-a", "2-b"])
    wait_for(lambda: arrived(hook, "NetwatchShardDown", "2", "resolved"), 90, "resolved", 0.5)
    print(f"phase 2 done after {time.monotonic() - started:.0f} s")

    # -- 3. a fourth shard: Bangorejo moves to it, one of its villages down all along --------
    moving = regency.districts[1]
    y, watched = moving.villages[0], moving.villages[1:]
    regency.cut(y.code)
    wait_for(lambda: arrived(hook, "VillageWifiDown", y.code, "firing"), 30, "Y firing", 0.2)
    echoes = EchoWatch(watched)
    try:
        wait_for(  # the old shard's two pingers seen at every address before anything moves
            lambda: all(len({i for _, i in ts}) == 2 for ts in echoes.seen.values()),
            10,
            "both replicas of shard 0 pinging Bangorejo",
            0.1,
        )
        moved_from = time.time()
        write(4)
        nw.start("3-a")
        nw.start("3-b")
        nw.wait_ready(["3-a", "3-b"])
        for name in ("3-a", "3-b"):  # the new shard has Y's outage open before the others let go
            wait_for(
                lambda n=name: (
                    nw.metric(
                        n, "netwatch_alert_active", alertname="VillageWifiDown", village=y.code
                    )
                    == 1
                ),
                30,
                f"{name} holding Y's alert",
                0.3,
            )
        for name in first:
            status, body = nw.reload(name)
            assert status == 200, (name, body)
        y_router = f"r-{y.code[-7:].replace('.', '-')}"
        for name in ("0-a", "0-b"):  # the old shard no longer holds Bangorejo
            assert nw.metric(name, "netwatch_device_info", device=y_router) == 0
            assert nw.metric(name, "netwatch_alert_active", village=y.code) == 0
        reloaded = time.time()
        wait_for(
            lambda: all(sum(t > reloaded for t, _ in ts) >= 4 for ts in echoes.seen.values()),
            20,
            "four more echo requests at every watched address",
            0.2,
        )
        done = time.time()
    finally:
        echoes.close()
    # Every address: the old shard's two pingers stopped only after the new shard's two had
    # started (they overlap: never nobody), and while both shards ping it no round is missed.
    # Rounds start one interval apart (every replica pings a device at the same phase), so
    # echo requests leave silences of an interval less the round's 0.1 s, plus any late
    # wake-up on this loaded machine; a round missed by everyone leaves at least 1.9 s.
    for address in echoes.seen:
        old = echoes.senders(address, 0.0)
        before = {i for i, (first, _) in old.items() if first < moved_from}
        new = {i for i, (first, _) in old.items() if first >= moved_from}
        assert len(before) == 2 and len(new) == 2, (address, old)
        new_first = min(old[i][0] for i in new)
        old_last = max(old[i][1] for i in before)
        assert old_last > new_first, (address, "a moment with nobody pinging", old)
        assert old_last < reloaded + INTERVAL, (address, "the old shard still pings", old)
        handover = echoes.gaps(address, new_first, old_last)
        longest = handover[0][1]
        print(f"{address}: overlap {old_last - new_first:.1f} s, longest silence {longest:.2f} s")
        assert longest < 1.5 * INTERVAL, (address, handover[:3])
        whole = echoes.gaps(address, echoes.started, done)[0]
        print(f"  whole watch: longest silence {whole[1]:.2f} s at {whole[0] - moved_from:+.1f} s")
    regency.restore(y.code)
    wait_for(lambda: arrived(hook, "VillageWifiDown", y.code, "resolved"), 30, "Y resolved", 0.2)

    # -- what the receiver got, by alert identity ----------------------------------------------
    def settled() -> bool:
        active = [
            a for i in range(2) for a in am.alerts(i) if a["labels"]["alertname"] in ENGINE_ALERTS
        ]
        return not active

    wait_for(settled, 30, "no engine alert active in either Alertmanager", 0.5)
    # Stragglers would come within a group_interval plus the second node's peer wait (2 s +
    # 2 s): watch that long again and more.
    end = time.monotonic() + 6
    while time.monotonic() < end:
        time.sleep(0.5)
    got = received(hook)
    print("received:", dict(got), f"after {time.monotonic() - started:.0f} s")
    print(hook.told())
    assert got[("VillageWifiDown", x.code)] == {"firing": 1, "resolved": 1}
    assert got[("VillageWifiDown", y.code)] == {"firing": 1, "resolved": 1}
    assert got[("NetwatchShardDown", "2")] == {"firing": 1, "resolved": 1}
    engine = {k: v for k, v in got.items() if k[0] in ENGINE_ALERTS}
    assert set(engine) == {("VillageWifiDown", x.code), ("VillageWifiDown", y.code)}, engine
    assert not [k for k in got if k[0] == "NetwatchShardDown" and k[1] != "2"], got
    # Who resolved Y: the new shard (the old one let go of it without a resolve).
    for name in ("0-a", "0-b"):
        assert nw.metric(name, "netwatch_alert_notifications_total", event="resolved") == 0
