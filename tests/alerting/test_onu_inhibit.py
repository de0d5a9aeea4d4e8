"""An ONU alert already paged while its village still answered, then the village goes silent:
the village's page naming the ONU inhibits it (Alertmanager's inhibit_rules, source
VillageWifiDown with an ONU cause, target VillageOnuOffline, equal village). Engine level,
injected clock; the OLT's word is put in as the facts of its poll (link_facts.DeviceFacts)."""

from __future__ import annotations

import dataclasses
import sqlite3

from netwatch.alerting import silences
from netwatch.core import link_facts as cf
from netwatch.core.model import AlertingSettings, OnuLink
from netwatch.web.status_page import _cause_lines
from tests.alerting.harness import Harness
from tests.alerting.test_cli import cli
from tests.helpers import regency

V1 = "35.10.01.2001"
ROUTER, AP = "rtr-1-1", "ap-1-1-1"
LINK = OnuLink(olt="pop-1", pon="0/1/3", id=5)
WHERE = "pop-1 port 0/1/3 ONU 5"


def make(tmp_path, **kw) -> Harness:
    inv = regency.build(districts=1, villages=2, aps=1, settings=AlertingSettings(**kw))
    linked = dataclasses.replace(inv.villages[V1], onu=LINK)
    inv = dataclasses.replace(inv, villages={**inv.villages, V1: linked})
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    h.rounds(states(h), 2)
    return h


def states(h: Harness, *down: str) -> dict[str, bool]:
    return {n: n not in down for n in h.inventory.devices}


def olt_says(h: Harness, state: str) -> None:
    """The OLT's poll now: the village's ONU in `state` (ZTE words: working, dying_gasp)."""
    labels = {"pon": "0/1/3", "onu": "5", "state": state}
    row = cf.Row(1.0 if state == "working" else 0.0, labels)
    h.engine.causes.facts["pop-1"] = cf.DeviceFacts(h.clock.t, {cf.ONU_UP: (row,)})


def firing_onu_then_silent_village(h: Harness) -> None:
    olt_says(h, "dying_gasp")
    h.rounds(states(h), 2)  # the router still answers: another path serves the village
    h.rounds(states(h, ROUTER, AP), 4)  # then the village goes silent


def open_alerts(h: Harness) -> dict[str, object]:
    return {a.labels["alertname"]: a for a in h.engine.snapshot().alerts}


def test_the_village_page_inhibits_the_onu_alert_already_paged(tmp_path):
    h = make(tmp_path, escalate_after=600.0, renotify_interval=900.0)
    firing_onu_then_silent_village(h)
    assert h.events() == [("firing", "VillageOnuOffline"), ("firing", "VillageWifiDown")]
    alerts = open_alerts(h)
    village, onu = alerts["VillageWifiDown"], alerts["VillageOnuOffline"]
    assert village.cause == f"onu_dying_gasp:{WHERE}"
    # Still open (its ONU is still offline), marked inhibited by the village's alert.
    assert onu.suppressed_by == f"inhibited:{village.fingerprint}" and onu.notified
    # The status page: one line for the village, the village's alert naming the ONU.
    assert [(c["alert"], c["cause"]) for c in _cause_lines(h.engine.snapshot().alerts)[V1]] == [
        ("VillageWifiDown", f"onu_dying_gasp:{WHERE}")
    ]
    # `netwatch alerts list` (another process) says why it is quiet.
    listed = cli("alerts", "list", "--db", h.db).stdout.splitlines()
    assert next(line for line in listed if "VillageOnuOffline" in line).endswith(
        f"firing (inhibited:{village.fingerprint})"
    )
    # Past escalate_after and renotify_interval: the village's alert escalates and reminds,
    # the inhibited ONU alert does neither.
    for _ in range(2):
        h.round(states(h, ROUTER, AP), dt=1000.0)
    onu_events = [e for e, name in h.events() if name == "VillageOnuOffline"]
    assert onu_events == ["firing"]
    assert ("escalation", "VillageWifiDown") in h.events()


def test_back_with_the_onu_still_offline_it_shows_again_without_a_second_page(tmp_path):
    h = make(tmp_path)
    firing_onu_then_silent_village(h)
    h.rounds(states(h), 4)  # the village answers again (another path), its ONU still offline
    assert h.events() == [
        ("firing", "VillageOnuOffline"),
        ("firing", "VillageWifiDown"),
        ("resolved", "VillageWifiDown"),
    ]
    onu = open_alerts(h)["VillageOnuOffline"]
    assert onu.suppressed_by is None and onu.notified
    assert [c["alert"] for c in _cause_lines(h.engine.snapshot().alerts)[V1]] == [
        "VillageOnuOffline"
    ]
    olt_says(h, "working")  # the ONU back online: the page people got ends with a resolved
    h.rounds(states(h), 2)
    assert h.events()[-1] == ("resolved", "VillageOnuOffline")


def test_an_onu_alert_never_paged_is_paged_once_when_the_inhibition_ends(tmp_path):
    h = make(tmp_path)
    other = sqlite3.connect(h.db, isolation_level=None)  # the CLI's connection
    t = h.clock.t  # held by a silence when it fires, which ends while the village is silent
    silences.add(other, {"alertname": "VillageOnuOffline"}, t, t + 5.0, "noc", "", t)
    other.close()
    firing_onu_then_silent_village(h)  # the silence ends while the village is silent
    assert h.events() == [("firing", "VillageWifiDown")]
    assert open_alerts(h)["VillageOnuOffline"].suppressed_by.startswith("inhibited:")
    h.rounds(states(h), 4)  # back, the ONU still offline: now it adds information
    assert h.events() == [
        ("firing", "VillageWifiDown"),
        ("resolved", "VillageWifiDown"),
        ("firing", "VillageOnuOffline"),
    ]


class _OltPoll:
    """The OLT's device state as the engine's listener sees it (an SNMP poll, no radios)."""

    def __init__(self, device: object) -> None:
        self.device = device

    def verdicts(self) -> list[object]:
        return []


def test_an_olt_poll_that_changes_an_onu_wakes_its_quiet_village(tmp_path):
    """A village up with nothing open is skipped until its devices report (issue 10); an OLT
    poll that changes its ONU's state must not wait for them: the ONU joins it at once."""
    h = make(tmp_path)
    assert h.engine.is_quiet(V1)  # up, nothing open: skipped by the next ticks

    def olt_poll(device_state: object, observation: object) -> None:  # Causes, on a real poll
        olt_says(h, "dying_gasp")
        h.engine.causes.onu_changed = True

    h.engine.causes.on_observation = olt_poll  # type: ignore[method-assign]
    h.engine.on_observation(_OltPoll(h.inventory.devices["pop-1"]), object())  # type: ignore[arg-type]
    polls = len(h.polls)
    h.engine.evaluate()  # no report of the village's own devices in between
    # The join asks the village's router for an echo now (is it silent, or on another path?).
    assert (ROUTER, "ping", "upstream-check") in h.polls[polls:]
