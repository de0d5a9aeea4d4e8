"""Alert engine behaviour with an injected clock and synthetic rounds (no network)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from netwatch.alerting import silences
from netwatch.core.model import AlertingSettings, MaintenanceWindow
from tests.alerting.harness import Harness
from tests.helpers import regency

V1 = "35.10.01.2001"


def make(tmp_path, **kw) -> Harness:
    settings = AlertingSettings(**kw)
    inv = regency.build(districts=1, villages=3, aps=1, settings=settings)
    h = Harness(inv, str(tmp_path / "alerts.sqlite3"))
    h.rounds(all_up(h), 2)  # every device confirmed up
    return h


def all_up(h: Harness, **down: bool) -> dict[str, bool]:
    states = dict.fromkeys(h.inventory.devices, True)
    for name, ok in down.items():
        states[name.replace("_", "-")] = ok
    return states


def with_down(h: Harness, *names: str) -> dict[str, bool]:
    states = dict.fromkeys(h.inventory.devices, True)
    for n in names:
        states[n] = False
    return states


def test_a_refused_recheck_is_asked_again(tmp_path):
    """The scheduler answers False when no job takes a re-check (its PollRequest returns bool):
    a refused ask of the parent is not debounced, the next village waiting for it asks again."""
    h = make(tmp_path)
    answers = iter([False, True])  # the parent's job is not there yet, then it is
    asked: list[tuple[str, str]] = []

    def request_poll(device: str, collector: str, reason: str) -> bool:
        asked.append((device, reason))
        return next(answers) if reason == "upstream-check" else True

    h.engine.intake.request_poll = request_poll
    villages = {n: False for n in ("rtr-1-1", "rtr-1-2", "rtr-1-3")}  # the POP has no news
    h.rounds(villages, 3)
    # Three villages down, each waiting for the POP: refused, asked again and taken, then
    # debounced.
    assert asked.count(("pop-1", "upstream-check")) == 2


def test_one_lost_round_never_alerts(tmp_path):
    h = make(tmp_path)
    for _ in range(20):  # a lost round now and then, never three in a row
        h.round(with_down(h, "ap-1-1-1"))
        h.round(all_up(h))
        h.round(with_down(h, "ap-1-1-1"))
        h.rounds(all_up(h), 8)
    assert h.events() == []
    assert h.history(V1) == ["up"]


def test_ap_down_fires_once_on_the_verdict_and_resolves_once(tmp_path):
    h = make(tmp_path)
    h.round(with_down(h, "ap-1-1-1"))
    h.round(with_down(h, "ap-1-1-1"))
    assert h.events() == []  # losing, but the stream has not said down yet
    h.round(with_down(h, "ap-1-1-1"))
    assert h.events() == [("firing", "VillageWifiDown")]
    n = h.outbox()[0]
    assert n["alert"]["labels"]["village"] == V1
    assert n["alert"]["cause"] == "ap_down:ap-1-1-1"
    assert n["alert"]["down_devices"] == ["ap-1-1-1"]
    h.rounds(with_down(h, "ap-1-1-1"), 10)
    h.round(all_up(h))
    assert h.events() == [("firing", "VillageWifiDown")]  # one reply is not yet a verdict
    h.round(all_up(h))
    assert h.events() == [("firing", "VillageWifiDown"), ("resolved", "VillageWifiDown")]
    assert h.history(V1) == ["up", "down", "up"]
    h.rounds(all_up(h), 5)
    assert len(h.events()) == 2


def test_recovery_at_the_verdict_boundary_is_not_lost(tmp_path):
    h = make(tmp_path)
    h.rounds(with_down(h, "rtr-1-2"), 3)  # fires on the third
    h.round(all_up(h))
    h.round(all_up(h))  # resolves exactly at up_rounds
    assert [e for e, _ in h.events()] == ["firing", "resolved"]
    # down again right at the boundary: a new alert, not a lost one
    h.rounds(with_down(h, "rtr-1-2"), 3)
    assert [e for e, _ in h.events()] == ["firing", "resolved", "firing"]


def test_district_cut_one_root_cause_listing_villages(tmp_path):
    h = make(tmp_path)
    cut = with_down(h, "pop-1", *[n for n in h.inventory.devices if n != "pop-1"])
    # Villages see their rounds fail before the POP router is polled again.
    villages_only = {n: False for n in h.inventory.devices if n != "pop-1"}
    h.round(villages_only)
    h.round(villages_only)
    h.round(villages_only)
    assert h.events() == []  # held: the parent's verdict is due
    assert ("pop-1", "ping", "upstream-check") in h.polls
    h.rounds(cut, 3)
    assert h.events() == [("firing", "UpstreamDown")]
    alert = h.outbox()[0]["alert"]
    assert alert["labels"]["device"] == "pop-1"
    assert alert["affected_villages"] == ["35.10.01.2001", "35.10.01.2002", "35.10.01.2003"]
    assert h.history(V1) == ["up", "unreachable-upstream"]
    h.rounds(cut, 20)
    h.rounds(all_up(h), 40)  # past the dependency grace
    assert h.events() == [("firing", "UpstreamDown"), ("resolved", "UpstreamDown")]
    assert h.history(V1) == ["up", "unreachable-upstream", "up"]


def test_village_still_down_after_parent_returns_fires_after_grace(tmp_path):
    h = make(tmp_path, dependency_grace=10.0)
    everything = {n: False for n in h.inventory.devices}
    h.rounds(everything, 4)
    assert h.events() == [("firing", "UpstreamDown")]
    h.rounds(with_down(h, "rtr-1-1", "ap-1-1-1"), 2)  # pop back, village 1 still dark
    assert h.events() == [("firing", "UpstreamDown"), ("resolved", "UpstreamDown")]
    h.rounds(with_down(h, "rtr-1-1", "ap-1-1-1"), 6)
    assert h.events()[-1] == ("firing", "VillageWifiDown")
    assert h.outbox()[-1]["alert"]["labels"]["village"] == V1
    assert len(h.events()) == 3


def test_flapping_ends_with_a_resolved_marked_flapping_repeats_held(tmp_path):
    h = make(tmp_path, flap_threshold=4, flap_quiet=60.0)
    for _ in range(6):
        h.rounds(with_down(h, "rtr-1-1"), 3)
        h.rounds(all_up(h), 2)
    # The 4th change (a resolve) starts flapping: the resolved says so; the outages after it
    # are held (no firing), so no resolved follows them either.
    events = [e for e, _ in h.events()]
    assert events == ["firing", "resolved", "firing", "resolved"]
    last = h.outbox()[-1]
    assert last["extra"]["flapping"] == "true" and last["extra"]["changes"] == "4"
    assert "flapping" not in h.outbox()[1]["extra"]
    h.rounds(all_up(h), 40)  # 80 s quiet: the episode ends; receivers already had the end
    assert [e for e, _ in h.events()] == ["firing", "resolved", "firing", "resolved"]
    assert h.engine.snapshot().flapping == 0


def test_flapping_noticed_on_an_outage_then_resolved_when_it_comes_back(tmp_path):
    h = make(tmp_path, flap_threshold=3, flap_quiet=60.0)
    h.rounds(with_down(h, "rtr-1-1"), 3)
    h.rounds(all_up(h), 2)
    h.rounds(with_down(h, "rtr-1-1"), 3)  # the 3rd change: a firing marked as flapping
    assert [e for e, _ in h.events()] == ["firing", "resolved", "flapping"]
    h.rounds(all_up(h), 2)  # back: the flapping alert ends with a resolved
    assert [e for e, _ in h.events()] == ["firing", "resolved", "flapping", "resolved"]
    assert h.outbox()[-1]["extra"]["flapping"] == "true"
    h.rounds(with_down(h, "rtr-1-1"), 3)  # down again within the episode: held
    h.rounds(with_down(h, "rtr-1-1"), 40)  # ... and still down after flap_quiet: said once
    assert [e for e, _ in h.events()] == ["firing", "resolved", "flapping", "resolved", "firing"]
    h.rounds(all_up(h), 2)
    assert h.events()[-1] == ("resolved", "VillageWifiDown")
    assert "flapping" not in h.outbox()[-1]["extra"]


def test_maintenance_suppresses_notifications_not_history(tmp_path):
    h = make(tmp_path)
    start = h.clock.t
    window = MaintenanceWindow(
        "fibre work", start="2000-01-01T00:00", end="2000-01-01T00:00", villages=(V1,)
    )
    # A one-off window given in UTC around the harness clock (checked against plain arithmetic).
    import datetime as dt

    a = dt.datetime.fromtimestamp(start, dt.UTC).isoformat()
    b = dt.datetime.fromtimestamp(start + 60, dt.UTC).isoformat()
    window = replace(window, start=a, end=b)
    settings = replace(h.inventory.settings.alerting, maintenance=(window,))
    inv = replace(h.inventory, settings=replace(h.inventory.settings, alerting=settings))
    h.engine.conn.close()
    h.inventory = inv
    h.engine = h.start()
    h.rounds(with_down(h, "rtr-1-1"), 10)  # 20 s, inside the window
    assert h.events() == []
    assert h.history(V1)[-1] == "down"
    assert h.engine.snapshot().shown[V1] == "maintenance"
    h.rounds(with_down(h, "rtr-1-1"), 25)  # the window ends with the village still down
    assert h.events() == [("firing", "VillageWifiDown")]


def test_silence_from_cli_table_suppresses(tmp_path):
    h = make(tmp_path)
    import sqlite3

    other = sqlite3.connect(str(tmp_path / "alerts.sqlite3"), isolation_level=None)
    other.row_factory = sqlite3.Row
    silences.add(other, {"village": V1}, h.clock.t, h.clock.t + 3600, "tester", "works", h.clock.t)
    h.rounds(with_down(h, "rtr-1-1", "rtr-1-2"), 4)
    assert [n["alert"]["labels"]["village"] for n in h.outbox()] == ["35.10.01.2002"]


def test_reminder_escalation_and_ack(tmp_path):
    h = make(tmp_path, escalate_after=30.0, renotify_interval=100.0)
    h.rounds(with_down(h, "rtr-1-1"), 3)
    h.rounds(with_down(h, "rtr-1-1"), 16)  # 32 s
    assert [e for e, _ in h.events()] == ["firing", "escalation"]
    assert h.outbox()[-1]["escalation_level"] == 1
    h.rounds(with_down(h, "rtr-1-1"), 50)  # 100 s more
    assert [e for e, _ in h.events()] == ["firing", "escalation", "reminder"]
    import sqlite3

    other = sqlite3.connect(str(tmp_path / "alerts.sqlite3"), isolation_level=None)
    other.execute("UPDATE alerts SET acknowledged_by = 'budi' WHERE state = 'firing'")
    h.rounds(with_down(h, "rtr-1-1"), 200)
    assert [e for e, _ in h.events()] == ["firing", "escalation", "reminder"]
    h.rounds(all_up(h), 2)
    assert h.events()[-1] == ("resolved", "VillageWifiDown")
    assert h.outbox()[-1]["alert"]["acknowledged_by"] == "budi"
    assert h.outbox()[-1]["escalation_level"] == 1  # the second list hears the end too


def test_restart_mid_outage_no_duplicate_and_resolution_arrives(tmp_path):
    h = make(tmp_path)
    h.rounds(with_down(h, "rtr-1-1"), 5)
    assert h.events() == [("firing", "VillageWifiDown")]
    h.restart()
    h.rounds(with_down(h, "rtr-1-1"), 5)  # verdicts start over: held down again, no new alert
    assert h.events() == [("firing", "VillageWifiDown")]
    h.rounds(all_up(h), 2)
    assert h.events() == [("firing", "VillageWifiDown"), ("resolved", "VillageWifiDown")]


def test_unknown_after_restart_never_resolves(tmp_path):
    h = make(tmp_path)
    h.rounds(with_down(h, "rtr-1-1"), 3)
    h.restart()
    h.clock.t += 600
    h.engine.evaluate()  # no rounds yet: verdicts unknown
    assert h.events() == [("firing", "VillageWifiDown")]


def test_one_failing_village_does_not_stop_the_others(tmp_path, monkeypatch):
    h = make(tmp_path)
    from netwatch.alerting import engine as engine_mod

    real = engine_mod.village_verdict

    def broken(code, *a, **kw):
        if code == V1:
            raise RuntimeError("boom")
        return real(code, *a, **kw)

    monkeypatch.setattr(engine_mod, "village_verdict", broken)
    h.rounds(with_down(h, "rtr-1-1", "rtr-1-2"), 3)
    assert [n["alert"]["labels"]["village"] for n in h.outbox()] == ["35.10.01.2002"]
    assert h.engine.snapshot().errors >= 1


def test_sustained_loss_is_degraded_warning_not_down(tmp_path):
    h = make(tmp_path)
    for _ in range(50):  # 100 s: a full window (20 s), then degraded_for (60 s)
        # 3 of 5 echoes answered: 40% loss, every round answered
        for name in h.inventory.devices:
            h.observe(name, 3 if name == "ap-1-2-1" else 5)
        h.engine.evaluate()
        h.clock.t += 2
    assert h.events() == [("firing", "VillageWifiDegraded")]
    assert h.outbox()[0]["alert"]["labels"]["severity"] == "warning"


def test_alert_notified_before_its_parent_broke_keeps_its_course(tmp_path):
    h = make(tmp_path)
    h.rounds(with_down(h, "rtr-1-1"), 3)
    assert h.events() == [("firing", "VillageWifiDown")]
    everything = {n: False for n in h.inventory.devices}
    h.rounds(everything, 4)
    assert h.events() == [("firing", "VillageWifiDown"), ("firing", "UpstreamDown")]
    h.rounds(with_down(h, "rtr-1-1"), 40)  # the POP is back, village 1 is not
    assert [e for e, _ in h.events()] == ["firing", "firing", "resolved"]
    h.rounds(all_up(h), 2)
    assert h.events()[-1] == ("resolved", "VillageWifiDown")
    assert len(h.events()) == 4


def test_parent_without_a_verdict_delays_a_village_by_upstream_wait_only(tmp_path):
    h = make(tmp_path, upstream_wait=10.0)
    t0 = h.clock.t
    villages = {n: n != "rtr-1-1" for n in h.inventory.devices if n != "pop-1"}
    for _ in range(10):  # the POP is never polled again
        h.round(villages)
        if h.events():
            break
    assert h.events() == [("firing", "VillageWifiDown")]
    fired = h.outbox()[0]["alert"]["starts_at"]
    assert t0 + 10.0 <= fired <= t0 + 12.0


async def test_service_reload_keeps_windows_when_new_ones_are_bad(tmp_path):
    from netwatch.alerting.service import AlertService
    from netwatch.core.state import State

    good = MaintenanceWindow("ok", start="01:00", end="02:00", days=("sun",))
    inv = regency.build(
        settings=AlertingSettings(db_path=str(tmp_path / "a.db"), maintenance=(good,))
    )
    service = AlertService.create(inv, State(inv), None, tracer=None)
    try:
        bad = MaintenanceWindow("broken", start="26:00", end="02:00", days=("sun",))
        s = replace(inv.settings.alerting, maintenance=(bad,))
        new = replace(inv, settings=replace(inv.settings, alerting=s))
        errors = service.reload(new)
        assert len(errors) == 1 and "'broken'" in errors[0]
        assert [w.spec.name for w in service.engine.maintenance.windows] == ["ok"]
    finally:
        await service.stop()


def test_lossy_district_link_one_upstream_warning_not_one_per_village(tmp_path):
    h = make(tmp_path)
    for _ in range(60):  # everything behind the POP loses 40% (the POP's link is lossy)
        for name in h.inventory.devices:
            h.observe(name, 3)
        h.engine.evaluate()
        h.clock.t += 2
    assert h.events() == [("firing", "UpstreamDegraded")]
    alert = h.outbox()[0]["alert"]
    assert alert["labels"]["device"] == "pop-1" and alert["cause"] == "high_loss"
    assert alert["affected_villages"] == ["35.10.01.2001", "35.10.01.2002", "35.10.01.2003"]
    for _ in range(60):  # the link heals
        for name in h.inventory.devices:
            h.observe(name, 5)
        h.engine.evaluate()
        h.clock.t += 2
    assert h.events() == [("firing", "UpstreamDegraded"), ("resolved", "UpstreamDegraded")]


def test_loss_hovering_at_the_threshold_does_not_flap(tmp_path):
    h = make(tmp_path)

    def rounds(n: int, received_of) -> None:
        for i in range(n):
            for name in h.inventory.devices:
                h.observe(name, received_of(i))
            h.engine.evaluate()
            h.clock.t += 2

    rounds(60, lambda i: 3 if i % 5 == 0 else 4)  # 24 % over every window: degraded
    assert h.events() == [("firing", "UpstreamDegraded")]
    # Then 20 % with one 40 % round in 12: windows swing between 20 % and 22 %, across the
    # threshold; the warning stays (it ends below 15 %) instead of flapping.
    rounds(120, lambda i: 3 if i % 12 == 0 else 4)
    assert h.events() == [("firing", "UpstreamDegraded")]
    rounds(20, lambda i: 5)
    assert h.events() == [("firing", "UpstreamDegraded"), ("resolved", "UpstreamDegraded")]


def _radio_poll(state, device: str, at: float, radio_up: bool):
    """A real SnmpObservation through State: wlan1 (ieee80211) up or down, ether1 up."""
    from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation

    obs = SnmpObservation(
        device=device,
        time=at,
        uptime_ticks=1000,
        interfaces=[
            SnmpInterface(1, "ether1", if_type=6, admin_status=1, oper_status=1),
            SnmpInterface(
                2, "wlan1", if_type=71, admin_status=1, oper_status=1 if radio_up else 2, radio=True
            ),
        ],
    )
    state.record(obs)


def test_ap_answering_ping_with_its_radio_off_takes_the_village_down(tmp_path):
    """Issue 4, item 1: APs "and their radios, where SNMP gives them"."""
    from netwatch.core.state import State

    h = make(tmp_path)
    state = State(h.inventory)
    state.add_listener(h.engine.on_observation)
    ap = "ap-1-1-1"  # the only AP of V1: radio off = no Wi-Fi in the village
    _radio_poll(state, ap, h.clock.t, radio_up=False)
    h.rounds(all_up(h), 3)  # it still answers every ping
    assert h.events() == [("firing", "VillageWifiDown")]
    n = h.outbox()[0]
    assert (n["alert"]["cause"], n["alert"]["down_devices"]) == (f"radio_down:{ap}", [ap])
    _radio_poll(state, ap, h.clock.t, radio_up=True)
    h.rounds(all_up(h), 2)
    assert h.events() == [("firing", "VillageWifiDown"), ("resolved", "VillageWifiDown")]


def test_snapshot_is_read_only_and_stays_as_taken(tmp_path):
    """Exporters read a snapshot: it never changes under them, and they cannot change it."""
    import dataclasses

    h = make(tmp_path)
    v2 = "35.10.01.2002"
    before = h.engine.snapshot()
    h.rounds(with_down(h, "rtr-1-2"), 3)
    after = h.engine.snapshot()
    assert before.recorded[v2] == "up" and before.alerts == ()
    assert after.recorded[v2] == "down" and after.shown[v2] == "down"
    (alert,) = after.alerts
    assert (alert.labels["alertname"], alert.labels["village"], alert.notified) == (
        "VillageWifiDown",
        v2,
        True,
    )
    with pytest.raises(TypeError):
        after.recorded[v2] = "up"  # type: ignore[index]
    with pytest.raises(TypeError):
        alert.labels["severity"] = "warning"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        after.errors = 0  # type: ignore[misc]


def test_a_better_diagnosis_is_sent_as_an_update_and_kept_to_the_end(tmp_path):
    """The AP of village 1 is down while its router still answers: ap_down. Then the router
    goes too: the engine learns better and says so once; the resolved keeps router_down."""
    h = make(tmp_path)
    h.rounds(with_down(h, "ap-1-1-1"), 3)
    assert h.events() == [("firing", "VillageWifiDown")]
    assert h.outbox()[0]["alert"]["cause"] == "ap_down:ap-1-1-1"
    h.rounds(with_down(h, "ap-1-1-1", "rtr-1-1"), 5)
    assert h.events() == [("firing", "VillageWifiDown"), ("update", "VillageWifiDown")]
    update = h.outbox()[1]
    assert update["alert"]["cause"] == "router_down:rtr-1-1"
    assert update["alert"]["down_devices"] == ["rtr-1-1", "ap-1-1-1"]
    assert update["extra"]["previous_cause"] == "ap_down:ap-1-1-1"
    h.rounds(all_up(h), 2)
    assert h.events()[-1] == ("resolved", "VillageWifiDown")
    assert h.outbox()[-1]["alert"]["cause"] == "router_down:rtr-1-1"


def test_whole_village_waits_for_its_router_whichever_is_found_first(tmp_path):
    """The AP's verdict comes first while its router is still losing echoes (no verdict):
    the village waits, and fires once, as router_down naming the router."""
    h = make(tmp_path)
    h.round(with_down(h, "ap-1-1-1"))
    h.round(with_down(h, "ap-1-1-1", "rtr-1-1"))
    h.round(with_down(h, "ap-1-1-1", "rtr-1-1"))  # the AP is down, the router only losing
    assert h.events() == []
    h.round(with_down(h, "ap-1-1-1", "rtr-1-1"))  # the router's verdict
    assert h.events() == [("firing", "VillageWifiDown")]
    alert = h.outbox()[0]["alert"]
    assert alert["cause"] == "router_down:rtr-1-1"
    assert alert["down_devices"] == ["rtr-1-1", "ap-1-1-1"]


def _router_back_ap_down(h: Harness) -> None:
    """A cut takes village 1's router and its AP down (both verdicts); the link is back: the
    router's replies make it up again while the AP's down verdict from the cut still stands
    (it needs its own replies, and has no echo outcome from after the router's return yet)."""
    h.rounds(with_down(h, "rtr-1-1", "ap-1-1-1"), 4)
    assert h.events() == [("firing", "VillageWifiDown")]
    assert h.outbox()[0]["alert"]["cause"] == "router_down:rtr-1-1"
    others = {n: True for n in h.inventory.devices if n not in ("rtr-1-1", "ap-1-1-1")}
    h.rounds({**others, "rtr-1-1": True}, 2)  # the router is up; the AP not heard since


def test_an_ap_down_from_its_routers_cut_waits_for_its_own_news(tmp_path):
    """No `update` to ap_down between the router's return and the AP's own replies: the AP's
    verdict came from the router's outage (tests/alerting/test_e2e_diagnosis saw the update
    once under load). The outage resolves with the cause it fired with."""
    h = make(tmp_path)
    _router_back_ap_down(h)
    assert h.engine.tracker.tracks["ap-1-1-1"].confirmed_up is False
    assert h.events() == [("firing", "VillageWifiDown")], h.outbox()
    h.observe("ap-1-1-1", 5)  # its first reply since: on its way back, verdict still down
    h.engine.evaluate()
    assert h.events() == [("firing", "VillageWifiDown")], h.outbox()
    h.rounds(all_up(h), 1)  # its second reply: up
    assert h.events() == [("firing", "VillageWifiDown"), ("resolved", "VillageWifiDown")]
    assert h.outbox()[-1]["alert"]["cause"] == "router_down:rtr-1-1"


def test_an_ap_still_dark_after_its_router_returns_is_a_new_diagnosis(tmp_path):
    """The AP loses an echo sent after the router's return: it is down on its own, and the
    receivers are told (`update`, ap_down), as before."""
    h = make(tmp_path)
    _router_back_ap_down(h)
    h.rounds(with_down(h, "ap-1-1-1"), 1)
    assert h.events() == [("firing", "VillageWifiDown"), ("update", "VillageWifiDown")]
    update = h.outbox()[1]
    assert update["alert"]["cause"] == "ap_down:ap-1-1-1"
    assert update["extra"]["previous_cause"] == "router_down:rtr-1-1"


def test_an_ap_never_heard_after_its_router_returns_waits_upstream_wait_only(tmp_path):
    """No news of the AP at all: the village waits at most upstream_wait after the router's
    return, then says ap_down."""
    h = make(tmp_path, upstream_wait=10.0)
    _router_back_ap_down(h)
    others = {n: True for n in h.inventory.devices if n != "ap-1-1-1"}
    h.rounds(others, 6)  # 12 s of the others' rounds, none of the AP
    events = h.events()
    assert events == [("firing", "VillageWifiDown"), ("update", "VillageWifiDown")]
    assert h.outbox()[1]["alert"]["cause"] == "ap_down:ap-1-1-1"
