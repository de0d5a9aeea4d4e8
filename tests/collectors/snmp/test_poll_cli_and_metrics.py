"""`netwatch snmp poll` end to end, and the SNMP metric families checked by promtool."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from netwatch.collectors.snmp import PLUGIN as SNMP
from netwatch.collectors.snmp.collector import probe
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.core.model import Inventory, Settings
from netwatch.core.state import State
from netwatch.exporters.prometheus import Exposition, metric_families, render_text
from tests.collectors.snmp.support import SETTINGS, device, v2c
from tests.helpers import needs, snmprec


def test_cli_poll_json(recordings_agent, recordings_dir):
    host, port = recordings_agent
    out = subprocess.run(
        [sys.executable, "-m", "netwatch", "snmp", "poll", "-c", "routeros", "--json",
         f"{host}:{port}"], capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    r = snmprec.read(recordings_dir / "routeros.snmprec")
    assert doc["uptime_ticks"] == snmprec.scalar(r, "1.3.6.1.2.1.1.3.0").number
    per_interface = [
        s["value"] for s in doc["wifi_clients"] if ["scope", "interface"] in s["labels"]
    ]
    assert sorted(per_interface) == [0, 0, 4, 7]
    # The JSON says which profile matched, why, and how sure it is.
    sys_oid = snmprec.scalar(r, "1.3.6.1.2.1.1.2.0").raw
    assert doc["profiles"][-1] == "mikrotik-routeros" and doc["profile_confidence"] == "high"
    assert doc["profile_reason"] == f"sysObjectID {sys_oid} is under 1.3.6.1.4.1.14988.1"


def test_cli_poll_unknown_profile_is_a_clear_error(recordings_agent):
    host, port = recordings_agent
    out = subprocess.run(
        [sys.executable, "-m", "netwatch", "snmp", "poll", "--profile", "nope", f"{host}:{port}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 2 and "unknown profile 'nope'" in out.stderr


def families(state: State):
    """The SNMP collector's families as client_python objects."""
    return metric_families(state, SNMP)


class _Source(Collector):
    def __init__(self, state: State) -> None:
        self.state = state

    def collect(self):
        return families(self.state)


def test_families_pass_promtool_and_carry_recorded_values(recordings_agent, recordings_dir):
    names = ["routeros", "edgeosolt", "airos_airos8"]
    devs = {n: device(n) for n in names}
    state = State(Inventory("35.10", "Banyuwangi", Settings(), {}, {}, devs, {}))

    async def run() -> None:
        async with SnmpEngine() as engine:
            for n in names:
                state.record(await probe(devs[n], v2c(n, recordings_agent[1]), SETTINGS, engine))

    asyncio.run(run())
    registry = CollectorRegistry()
    registry.register(_Source(state))
    text = generate_latest(registry).decode()
    r = snmprec.read(recordings_dir / "routeros.snmprec")
    hc = snmprec.column(r, "1.3.6.1.2.1.31.1.1.1.6")[(3,)].number
    samples = {
        (s.name, s.labels.get("device"), s.labels.get("interface")): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    key = ("netwatch_snmp_interface_receive_bytes_total", "routeros", "WAN")
    assert samples[key] == hc
    # The service renders state families with its lean encoder: same samples as client_python.
    lean = {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for fam in text_string_to_metric_families(render_text(families(state)).decode())
        for s in fam.samples
    }
    reference = {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }
    assert lean == reference
    cached = Exposition(state, [SNMP]).render()  # the /metrics path: columns per family
    fast = {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for fam in text_string_to_metric_families(cached.decode())
        for s in fam.samples
    }
    assert fast == reference
    # client_python writes label names sorted ("band" before "device"): look at the samples.
    assert ("netwatch_snmp_wifi_clients", "routeros") in {(n, d) for n, d, _ in samples}
    assert "netwatch_snmp_optical_rx_power_dbm" in text
    promtool = needs.tool("promtool", "prometheus")
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)  # fmt: skip
    # promtool exits 1 for lint warnings too; only real problems are errors for us.
    problems = [ln for ln in (check.stdout + check.stderr).splitlines() if ln.strip()]
    assert check.returncode == 0, problems
