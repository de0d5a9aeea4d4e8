"""Alert metrics: exposition linted by promtool, values from a scripted outage."""

from __future__ import annotations

import subprocess

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

from netwatch.core.state import State
from netwatch.exporters import prometheus as prom
from netwatch.exporters import prometheus_alerts
from tests.alerting.test_engine import make, with_down
from tests.helpers import needs


def scrape(h) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(prom.StateCollector(State(h.inventory), [prometheus_alerts.source(h.engine)]))
    return generate_latest(registry).decode()


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_village_state_and_firing_alert(tmp_path):
    h = make(tmp_path)
    h.rounds(with_down(h, "rtr-1-2"), 3)
    s = samples(scrape(h))
    key = (
        "netwatch_village_service_state",
        (("district", "35.10.01"), ("state", "down"), ("village", "35.10.01.2002")),
    )
    assert s[key] == 1.0
    up = (
        "netwatch_village_service_state",
        (("district", "35.10.01"), ("state", "up"), ("village", "35.10.01.2001")),
    )
    assert s[up] == 1.0
    assert (
        s[("netwatch_village_service_up", (("district", "35.10.01"), ("village", "35.10.01.2002")))]
        == 0.0
    )
    assert (
        s[("netwatch_alerts_firing", (("alertname", "VillageWifiDown"), ("severity", "critical")))]
        == 1.0
    )
    assert s[("netwatch_alert_notifications_total", (("event", "firing"),))] == 1.0


def test_exposition_passes_promtool_lint(tmp_path):
    needs.tool("promtool", "prometheus")
    h = make(tmp_path)
    h.rounds(with_down(h, "rtr-1-2"), 3)
    out = subprocess.run(
        ["promtool", "check", "metrics"],
        input=scrape(h),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
