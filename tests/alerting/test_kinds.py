"""Alert kinds: what a village verdict asks of its VillageWifiDown alert."""

from __future__ import annotations

import hashlib
import json

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


def _sha(labels: dict[str, str]) -> str:
    """The documented fingerprint: sorted compact JSON, SHA-256, 16 hex digits."""
    blob = json.dumps(labels, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def test_an_alerts_labels_and_fingerprint_are_the_same_at_every_evaluation():
    """The first evaluation computes the fingerprint; later ones build the labels only when
    read (kinds.LazyLabels): the same label set and identity either way."""
    inv = regency.build(districts=1, villages=1, aps=1, settings=AlertingSettings())
    kinds = Kinds(Topology(inv), inv.settings.alerting)
    up = Verdict(ServiceState.UP)
    where = {"village": V1, "village_name": "Desa 1-1", "district": "35.10.01"}
    where["district_name"] = "Kecamatan 1"
    down = {"alertname": "VillageWifiDown", "severity": "critical", **where}
    degraded = {"alertname": "VillageWifiDegraded", "severity": "warning", **where}
    parent = {"alertname": "UpstreamDegraded", "severity": "warning", "device": "pop-1"}
    parent |= {"district": "35.10.01", "district_name": "Kecamatan 1"}
    for _ in range(3):
        d, w = kinds.village(V1, up)
        assert (dict(d.labels), d.fingerprint) == (down, _sha(down))
        assert (dict(w.labels), w.fingerprint) == (degraded, _sha(degraded))
        assert d.labels["village_name"] == "Desa 1-1" and len(w.labels) == 6
        p = kinds.upstream("pop-1", up, None)[1]
        assert (dict(p.labels), p.fingerprint) == (parent, _sha(parent))
