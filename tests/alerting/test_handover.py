"""A reload that moves a district to another shard lets go of its alerts without a resolve.

The village is still down: the new shard's replicas fire the same alert (same labels), so
telling on-call "back up" here, or re-posting it from here forever, would both be wrong.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

from netwatch.alerting import store
from netwatch.alerting.engine import Engine
from netwatch.alerting.notifiers.alertmanager import AlertmanagerTarget
from netwatch.alerting.outbox import Outbox
from netwatch.cluster.member import shard_view
from netwatch.config import load_inventory
from netwatch.core.model import Inventory
from netwatch.core.notifications import ContactList, NotificationSettings
from tests.alerting.harness import Harness
from tests.config.test_regions import PROVINCE
from tests.helpers.configs import write

# Alertmanager as receiver: its rows say whether the alert is still re-posted.
AM = NotificationSettings(
    contacts=(ContactList("am", (AlertmanagerTarget("http://127.0.0.1:9/"),)),),
    default_contacts="am",
)
JEMBER_ROUTER = "r-35-09-01-2001"


def config(tmp_path, jember_shard: int | None, *, jember: bool = True) -> Inventory:
    """Two shards; Banyuwangi pinned to 0, Jember to jember_shard (or left out)."""
    text = PROVINCE.replace("name: Banyuwangi\n", "name: Banyuwangi\n      shard: 0\n")
    if jember_shard is not None:
        text = text.replace("name: Jember\n", f"name: Jember\n      shard: {jember_shard}\n")
    if not jember:
        text = text.split('    - code: "35.09"')[0]
    text = "settings:\n  cluster: {shards: 2, replicas: 2}\n" + text
    inv = load_inventory(write(tmp_path, text))
    return replace(inv, settings=replace(inv.settings, notifications=AM))


class AmHarness(Harness):
    def start(self) -> Engine:
        conn = store.connect(self.db)
        return Engine(self.inventory, conn=conn, outbox=Outbox(conn, AM), clock=self.clock)

    def reposted(self) -> list[str]:
        conn = sqlite3.connect(self.db)
        try:
            rows = conn.execute("SELECT payload FROM outbox_firing").fetchall()
        finally:
            conn.close()
        return [json.loads(p)["alert"]["labels"]["village"] for (p,) in rows]

    def states(self) -> list[tuple[str, str]]:
        conn = sqlite3.connect(self.db)
        try:
            return conn.execute("SELECT alertname, state FROM alerts ORDER BY id").fetchall()
        finally:
            conn.close()


def down_in_jember(tmp_path) -> tuple[AmHarness, dict[str, bool]]:
    inv = shard_view(config(tmp_path, 0), 0)
    h = AmHarness(inv, str(tmp_path / "alerts.sqlite3"))
    up = dict.fromkeys(inv.devices, True)
    h.rounds(up, 2)
    down = {**up, JEMBER_ROUTER: False}
    h.rounds(down, 3)
    assert h.events() == [("firing", "VillageWifiDown")]
    assert h.reposted() == ["35.09.01.2001"]
    return h, down


def test_district_moved_away_closes_its_alert_without_a_resolve(tmp_path) -> None:
    h, down = down_in_jember(tmp_path)
    moved = shard_view(config(tmp_path, 1), 0)
    assert "35.09.01.2001" not in moved.villages  # the plan gave Jember to shard 1
    h.engine.set_inventory(moved)
    still = {n: ok for n, ok in down.items() if n in moved.devices}
    h.rounds(still, 5)
    assert h.events() == [("firing", "VillageWifiDown")]  # no resolve, nothing new
    assert h.reposted() == []  # and no longer re-posted from here
    assert h.states() == [("VillageWifiDown", "resolved")]  # closed in this shard's history
    assert h.engine.snapshot().alerts == ()


def test_restart_with_a_plan_that_moved_the_district_closes_it_too(tmp_path) -> None:
    h, _ = down_in_jember(tmp_path)
    h.inventory = shard_view(config(tmp_path, 1), 0)
    h.restart()  # the open alert is loaded from the database, then let go
    h.rounds(dict.fromkeys(h.inventory.devices, True), 3)
    assert h.events() == [("firing", "VillageWifiDown")]
    assert h.reposted() == []
    assert h.states() == [("VillageWifiDown", "resolved")]


def test_village_removed_from_the_config_is_closed_without_a_resolve(tmp_path) -> None:
    h, _ = down_in_jember(tmp_path)
    gone = shard_view(config(tmp_path, None, jember=False), 0)
    h.engine.set_inventory(gone)
    h.rounds(dict.fromkeys(gone.devices, True), 3)
    assert h.events() == [("firing", "VillageWifiDown")]
    assert h.reposted() == []


def test_alerts_of_villages_that_stay_are_kept(tmp_path) -> None:
    h, down = down_in_jember(tmp_path)
    same = shard_view(config(tmp_path, 0), 0)  # a reload that moves nothing
    h.engine.set_inventory(same)
    h.rounds(down, 2)
    assert h.reposted() == ["35.09.01.2001"]
    h.rounds({**down, JEMBER_ROUTER: True}, 3)
    assert h.events() == [("firing", "VillageWifiDown"), ("resolved", "VillageWifiDown")]
