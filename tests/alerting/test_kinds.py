"""Alert kinds: what a village verdict asks of its VillageWifiDown alert."""

from __future__ import annotations

from netwatch.alerting.kinds import Kinds
from netwatch.alerting.rules import ServiceState, Topology, Verdict
from netwatch.core.model import AlertingSettings
from tests.helpers import regency

V1 = "35.10.01.2001"


def test_a_down_router_is_traced_whatever_devices_its_cause_names():
    """rules.py writes the cause with its devices ("router_down:rtr-1-1"): the router's
    path break is still waited for; an AP alone is not traced (docs/alert_engine.md)."""
    inv = regency.build(districts=1, villages=1, aps=1, settings=AlertingSettings())
    kinds = Kinds(Topology(inv), inv.settings.alerting)
    whole = Verdict(ServiceState.DOWN, "router_down:rtr-1-1", ("rtr-1-1", "ap-1-1-1"))
    assert kinds.village(V1, whole)[0].trace_target == "rtr-1-1"
    ap = Verdict(ServiceState.DOWN, "ap_down:ap-1-1-1", ("ap-1-1-1",))
    assert kinds.village(V1, ap)[0].trace_target is None
