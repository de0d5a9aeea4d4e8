"""The village's ONU joined to its verdict (alerting/onu_join.py): which echo decides, cases by
the table in docs/alert_engine.md. The engine-level and end-to-end behaviour is in
test_e2e_onu_village.py; here the rule itself, on hand-made device views."""

from __future__ import annotations

import pytest

from netwatch.alerting.onu_join import OnuEpisode, cause, join
from netwatch.alerting.rules import DeviceView, ServiceState, Verdict
from netwatch.core.model import OnuLink

LINK = OnuLink(olt="olt-1", pon="0/1/3", id=5)
T0 = 1000.0  # the OLT's poll that listed the ONU offline
WAIT = 20.0
UP = Verdict(ServiceState.UP)


def view(seen_at: float | None, failing: bool = False, up: bool | None = True) -> DeviceView:
    return DeviceView(confirmed_up=up, failing=failing, seen_at=seen_at)


def test_the_cause_names_the_olts_reason_and_where():
    assert cause("dying_gasp", LINK) == "onu_dying_gasp:olt-1 port 0/1/3 ONU 5"
    by_name = OnuLink(olt="olt-2", name="desa-gitik")
    assert cause("los", by_name) == "onu_los:olt-2 ONU desa-gitik"


def test_a_router_silent_after_the_olts_poll_makes_the_village_down_with_the_onu_cause():
    ep = OnuEpisode("dying_gasp", T0)
    got = join(UP, ep, None, LINK, ["r"], {"r": view(T0 + 0.1, failing=True)}, T0 + 1.2, WAIT)
    assert (got.state, got.cause, got.down_devices) == (
        ServiceState.DOWN, "onu_dying_gasp:olt-1 port 0/1/3 ONU 5", ("r",))  # fmt: skip
    assert ep.joined and not ep.other_path  # the ONU's own alert is inhibited


def test_a_router_answering_after_the_poll_is_another_path():
    ep = OnuEpisode("los", T0)
    got = join(UP, ep, None, LINK, ["r"], {"r": view(T0 + 0.1)}, T0 + 0.2, WAIT)
    assert got is UP  # the echo stream's verdict stands
    assert ep.other_path and not ep.joined  # the ONU's alert is what adds information


def test_a_loss_before_the_poll_decides_nothing_the_echo_after_it_does():
    ep = OnuEpisode("dying_gasp", T0)
    old = {"r": view(T0 - 3.0, failing=True)}  # lost before the OLT said anything
    got = join(UP, ep, None, LINK, ["r"], old, T0 + 0.1, WAIT)
    assert got.pending and got.awaiting == ("r",)  # the engine asks for an echo now
    assert not ep.joined and not ep.other_path


def test_waiting_ends_at_upstream_wait_with_the_olts_word():
    ep = OnuEpisode("dying_gasp", T0)
    got = join(UP, ep, None, LINK, ["r"], {"r": view(None, up=None)}, T0 + WAIT, WAIT)
    assert got.state is ServiceState.DOWN and got.cause.startswith("onu_dying_gasp:")


def test_a_village_without_pinged_devices_is_down_on_the_olts_word():
    ep = OnuEpisode("los", T0)
    got = join(Verdict(ServiceState.UNKNOWN), ep, None, LINK, [], {}, T0, WAIT)
    assert got.state is ServiceState.DOWN and got.cause == "onu_los:olt-1 port 0/1/3 ONU 5"


def test_a_parent_down_above_speaks_for_the_village():
    above = Verdict(ServiceState.UNREACHABLE_UPSTREAM, "upstream_down:pop-1", root_cause="pop-1")
    ep = OnuEpisode("los", T0)
    views = {"r": view(T0 + 1, failing=True)}
    assert join(above, ep, None, LINK, ["r"], views, T0 + 2, WAIT) is above


@pytest.mark.parametrize("episode", [None, "stale"])
def test_the_onu_cause_sticks_until_the_village_is_up(episode: str | None):
    # Power back: the ONU is online again (no episode) or the OLT not re-polled yet (stale),
    # and the router, booting, is still down by echo: the same outage, not a new diagnosis.
    sticky = "onu_dying_gasp:olt-1 port 0/1/3 ONU 5"
    echo = Verdict(ServiceState.DOWN, "router_down:r", ("r",))
    ep = OnuEpisode("dying_gasp", T0, joined=True) if episode else None
    views = {"r": view(T0 + 30, failing=False, up=False)}  # answering again, not yet up
    got = join(echo, ep, sticky, LINK, ["r"], views, T0 + 31, WAIT)
    assert (got.state, got.cause) == (ServiceState.DOWN, sticky)
    assert join(UP, ep, sticky, LINK, ["r"], views, T0 + 32, WAIT) is UP  # up: it resolves


def test_a_reload_keeps_the_onu_episode_and_the_joined_cause():
    import dataclasses

    from netwatch.alerting.causes import Causes
    from netwatch.alerting.kinds import Kinds
    from netwatch.alerting.rules import Topology
    from tests.helpers import regency

    inv = regency.build(villages=2)
    code = next(iter(inv.villages))
    linked = dataclasses.replace(inv.villages[code], onu=OnuLink(olt="pop-1", pon="0/1/3", id=5))
    inv = dataclasses.replace(inv, villages={**inv.villages, code: linked})
    topo = Topology(inv)
    old = Causes(inv, Kinds(topo, inv.settings.alerting))
    old.episodes[code] = OnuEpisode("dying_gasp", T0, joined=True)
    old.sticky[code] = cause("dying_gasp", LINK)
    old.episodes["35.99.99.2099"] = OnuEpisode("los", T0)  # a village the reload removed
    new = Causes(inv, Kinds(topo, inv.settings.alerting))
    new.adopt(old)
    assert new.episodes == {code: old.episodes[code]}
    assert new.sticky == {code: "onu_dying_gasp:olt-1 port 0/1/3 ONU 5"}
