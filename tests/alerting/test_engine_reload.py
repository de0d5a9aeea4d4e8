"""A reload between two ticks decides nothing by itself (issue 10).

The reference is the engine that evaluates every village, parent and open alert every tick
(incremental=False). Reloads of an equal copy of the inventory are given to the incremental
engine only: what it sends, shows and records must be what the reference decides with no
reload at all (an operator's unchanged file changes nothing). Reloads of edits go to both.
Until 66071bf a reload made TimerIndex forget the parents' dependency_grace ends: an alert held
below a parent that came back (or stopped being lossy) shortly before the reload stayed held,
suppressed_by naming the parent, until that parent's standing changed again; the reference
sent it when the grace ended (docs/alert_engine.md: "one still down after that is notified").
A lossy spell's end, noted after a return, replaced the return's the same way (no reload
needed), and a reload during a silent village's OLT_WAIT asked its OLT again and waited anew.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import replace

import pytest

from netwatch.alerting.causes import OLT_WAIT
from netwatch.alerting.records import OpenAlert
from netwatch.alerting.timer_index import TimerIndex
from netwatch.core.model import AlertingSettings, OnuLink
from tests.alerting.harness import Harness
from tests.alerting.test_engine_incremental import SETTINGS, _alerts, _olt_says, pair, same
from tests.alerting.test_engine_mass_outage import FAST
from tests.alerting.test_engine_reload_quiet import ONU, ONU_VILLAGE, edited
from tests.helpers import regency


@pytest.mark.parametrize("reload", ["equal", "edits"])
@pytest.mark.parametrize("chance", [0.1, 0.4])  # of a reload before a tick
@pytest.mark.parametrize("settings", list(SETTINGS))
@pytest.mark.parametrize("seed", range(1, 7))
def test_reloads_between_ticks_decide_what_a_full_evaluation_decides(
    tmp_path, seed, settings, chance, reload
):
    inv = regency.build(districts=2, villages=4, aps=2, settings=SETTINGS[settings])
    linked = dataclasses.replace(inv.villages[ONU_VILLAGE], onu=ONU)
    inv = dataclasses.replace(inv, villages={**inv.villages, ONU_VILLAGE: linked})
    full, quick = both = pair(inv, tmp_path)
    rng = random.Random(seed)
    bad: dict[str, tuple[int, float]] = {}
    reloads, in_grace = 0, 0
    for step in range(400):
        names = list(inv.devices)
        if rng.random() < 0.08:
            received = rng.choice([0, 0, 0, 1, 3, 4, 5, 5])
            bad[rng.choice(names)] = (received, rng.choice([0.002, 0.002, 0.25, 0.35]))
        if rng.random() < 0.05 and bad:
            bad.pop(rng.choice(list(bad)))
        if rng.random() < 0.02:
            state = rng.choice(["working", "working", "dying_gasp", "los"])
            for h in both:
                _olt_says(h, state)
        if rng.random() < chance:  # a reload between two ticks
            graces = quick.engine.timers._grace_at.values()  # parents' dependency_grace ends
            in_grace += any(end > quick.clock.t for end in graces)
            if reload == "equal":
                quick.engine.set_inventory(replace(inv))
            else:
                inv, _ = edited(inv, rng, step)
                for h in both:
                    h.engine.set_inventory(inv)
            reloads += 1
            names = list(inv.devices)
        for name in rng.sample(names, k=rng.randint(0, len(names) // 3)):
            received, rtt = bad.get(name, (5, 0.002))
            for h in both:
                h.observe(name, received, rtt=rtt)
        full.engine.evaluate()
        quick.engine.evaluate()
        same(quick, full, step)
        for h in both:
            h.clock.t += 2.0
    assert _alerts(quick.db) == _alerts(full.db)
    assert full.events(), "the sequence never alerted: it tests nothing"
    assert reloads > 20 and in_grace > 0, "no reload came in a parent's grace: it tests nothing"


def test_a_held_alert_goes_out_when_its_parents_grace_ends_across_a_reload(tmp_path):
    """The POP comes back while the village's router stays down; an equal copy of the file is
    reloaded during the grace: the village's alert is still sent when the grace ends."""
    inv = regency.build(districts=1, villages=1, aps=1, settings=FAST)
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    h.rounds(dict.fromkeys(inv.devices, True), 3)
    h.rounds(dict.fromkeys(inv.devices, False), 6)
    h.rounds({"pop-1": True, "rtr-1-1": False, "ap-1-1-1": False}, 3)
    back = h.engine.tracker.tracks["pop-1"].recovered_at
    assert back is not None and h.clock.t < back + FAST.dependency_grace
    h.engine.set_inventory(replace(inv))
    while h.clock.t < back + FAST.dependency_grace:
        h.engine.evaluate()
        assert ("firing", "VillageWifiDown") not in h.events()
        h.clock.t += 0.5
    h.engine.evaluate()
    firing = [n for n in h.outbox() if n["alert"]["labels"]["alertname"] == "VillageWifiDown"]
    assert [(n["event"], n["created_at"]) for n in firing] == [
        ("firing", back + FAST.dependency_grace)
    ]


def test_a_reset_of_the_timer_index_keeps_the_parents_graces():
    """reset() (a reload, a load) forgets what a look at every open alert indexes again, not
    when a parent's grace ends: no look at an alert tells that again."""
    idx = TimerIndex(AlertingSettings())
    idx.grace("pop-1", 100.0)
    idx.reset()
    held = OpenAlert(id=1, labels={"alertname": "VillageWifiDown", "village": "v"}, starts_at=1.0)
    idx.note(held, ["pop-1"], False)  # the sweep after the reset looks at it: held below pop-1
    open_alerts = {held.fingerprint: held}
    assert idx.due(99.5, (), open_alerts) == set()
    assert idx.due(100.0, (), open_alerts) == {held.fingerprint}


def test_a_lossy_spell_after_a_parents_return_does_not_hide_its_graces_end(tmp_path):
    """The POP comes back lossy (2 of 5 echoes lost: above half the loss threshold, so it
    holds its villages' degraded warnings) while the village's router stays down: the lossy
    spell's grace, noted at every tick, ends later than the return's; the village's down alert
    (no degraded warning) still goes out when the return's grace ends (no reload here)."""
    inv = regency.build(districts=1, villages=1, aps=1, settings=FAST)
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    h.rounds(dict.fromkeys(inv.devices, True), 3)
    h.rounds(dict.fromkeys(inv.devices, False), 6)
    assert h.events() == [("firing", "UpstreamDown")]
    back = None
    for _ in range(20):
        h.observe("pop-1", 3)
        for name in ("rtr-1-1", "ap-1-1-1"):
            h.observe(name, 0)
        h.engine.evaluate()
        back = back or h.engine.tracker.tracks["pop-1"].recovered_at
        if ("firing", "VillageWifiDown") in h.events():
            break
        h.clock.t += 2.0
    assert back is not None
    assert "pop-1" in h.engine.degraded.lossy_seen  # (lossy before the return's grace ended)
    firing = [n for n in h.outbox() if n["alert"]["labels"]["alertname"] == "VillageWifiDown"]
    assert [(n["event"], n["created_at"]) for n in firing] == [
        ("firing", back + FAST.dependency_grace)
    ]


def test_a_silent_villages_wait_for_its_olt_outlasts_no_reload(tmp_path):
    """A village whose ONU hangs off an OLT last heard before the failure waits OLT_WAIT for the
    OLT's poll, asked once; an equal copy of the file reloaded meanwhile neither asks again nor
    starts the wait over: the village's alert goes out OLT_WAIT after the ask."""
    inv = regency.build(districts=1, villages=1, aps=1, settings=FAST)
    code = next(iter(inv.villages))
    onu = OnuLink(olt="pop-1", pon="0/1/3", id=5)
    inv = replace(inv, villages={code: replace(inv.villages[code], onu=onu)})
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    h.rounds(dict.fromkeys(inv.devices, True), 3)
    down = {"pop-1": True, "rtr-1-1": False, "ap-1-1-1": False}
    for _ in range(6):  # the router's third lost round: down, the OLT asked
        h.round(down)
        if h.polls:
            break
    asked = h.clock.t - 2.0  # (round() advanced the clock after its evaluation)
    assert h.polls == [("pop-1", "snmp", "village silent")]
    h.engine.set_inventory(replace(inv))
    for _ in range(40):
        h.engine.evaluate()
        if ("firing", "VillageWifiDown") in h.events():
            break
        h.clock.t += 0.5
    firing = [n for n in h.outbox() if n["alert"]["labels"]["alertname"] == "VillageWifiDown"]
    assert [(n["event"], n["created_at"]) for n in firing] == [("firing", asked + OLT_WAIT)]
    assert h.polls == [("pop-1", "snmp", "village silent")]


def test_graces_do_not_pile_up_while_every_alert_is_looked_at_every_tick(tmp_path):
    """Kept across reloads, the graces must still end: a lossy POP notes a new end at every
    tick, and an engine that looks at every alert every tick (here: not incremental; also
    while a maintenance window is configured) never asked the index which ended."""
    inv = regency.build(districts=1, villages=1, aps=1, settings=FAST)
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    h.engine.incremental = False
    h.rounds(dict.fromkeys(inv.devices, True), 3)
    for _ in range(40):  # 80 s lossy (2 of 5 lost), a tick every 2 s
        h.observe("pop-1", 3)
        h.engine.evaluate()
        h.clock.t += 2.0
    assert h.engine.degraded.lossy_seen["pop-1"] == h.clock.t - 2.0
    # At most the ends still ahead: dependency_grace (10 s) of ticks 2 s apart, and the one
    # noted at this tick.
    assert len(h.engine.timers._graces) <= FAST.dependency_grace / 2.0 + 1
