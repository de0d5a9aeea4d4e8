"""Linux/OpenWrt APs on a real snmpd: radios named as vendors name them, NET-SNMP-EXTEND figures.

Each AP is a network namespace whose interfaces (veth pairs) carry the names of real AP radios
(ra0/rai0 on MediaTek, wifi0/ath0 on Atheros, wlan0/wlan0-1 on OpenWrt); a radio is "up" when
both ends of its pair are up. snmpd serves the namespace's interfaces and `extend` scripts as
OpenWrt's LibreNMS scripts publish them. Expected values come from the test's own set-up and
from net-snmp's snmpwalk, never from netwatch.
"""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from netwatch.collectors.snmp.collector import probe_target
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.observation import SnmpObservation
from netwatch.collectors.snmp.state import SnmpDeviceState
from netwatch.collectors.snmp.types import Target
from tests.helpers.netns import Namespace, Netlab
from tests.helpers.netsnmp import NETSNMP_FLAGS, parse_netsnmp
from tests.helpers.snmpd import running_snmpd

EXTENDS = {  # extend name → what the script prints (strings, as OpenWrt's scripts do)
    "clients-ra0": "5", "clients-rai0": "3", "clients-wlan": "8", "frequency-ra0": "2437",
    "noise-floor-rai0": "-95", "snr-ra0-avg": "31", "hostname": "ap-desa",
}  # fmt: skip
EXTEND_OUTPUT = "1.3.6.1.4.1.8072.1.3.2.3.1.1"  # NET-SNMP-EXTEND-MIB nsExtendOutput1Line


def make_ap(lab: Netlab, key: str, radios: dict[str, bool]) -> Namespace:
    """A namespace with eth0 up and one veth per radio, up or down as asked."""
    ns = lab.add(key)
    for name, up in {"eth0": True, **radios}.items():
        ns.run("ip", "link", "add", name, "type", "veth", "peer", "name", f"{name[:8]}-p")
        ns.run("ip", "link", "set", name, "up")
        if up:  # the peer end up too: carrier, ifOperStatus up
            ns.run("ip", "link", "set", f"{name[:8]}-p", "up")
    return ns


def poll_in(ns: Namespace, port: int) -> SnmpObservation:
    async def main() -> SnmpObservation:
        target = Target("127.0.0.1", port, "2c", "public", timeout=1.0, retries=1)
        async with SnmpEngine() as engine:
            return await probe_target("ap", target, engine)

    return ns.call(asyncio.run, main())


def oper_status(agent, names: set[str]) -> dict[str, int]:
    """ifDescr → ifOperStatus as net-snmp's own snmpwalk reads them."""

    def walk(oid: str) -> dict:
        out = agent.run_tool("snmpwalk", *NETSNMP_FLAGS, "-v2c", "-c", "public",
                             f"{agent.host}:{agent.port}", oid)  # fmt: skip
        return {o[-1]: v for o, _, v in parse_netsnmp(out)}

    descr, oper = walk("1.3.6.1.2.1.2.2.1.2"), walk("1.3.6.1.2.1.2.2.1.8")
    return {descr[i].decode(): oper[i] for i in descr if descr[i].decode() in names}


SCENARIOS = {
    # radios → whether the AP still serves Wi-Fi (False = not down)
    "mediatek-5ghz-only": ({"ra0": False, "rai0": True}, False),
    "mediatek-2ghz-only": ({"ra0": True, "rai0": False}, False),
    "atheros-vap-up": ({"wifi0": False, "ath0": False, "ath1": True}, False),
    "openwrt-vap-up": ({"wlan0": False, "wlan0-1": True}, False),
    "all-radios-down": ({"ra0": False, "rai0": False, "wlan0-1": False}, True),
}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_radio_detection_never_calls_a_multi_radio_ap_with_one_radio_up_dead(netlab, scenario):
    radios, down = SCENARIOS[scenario]
    ns = make_ap(netlab, f"profiles-{len(netlab.namespaces)}", radios)
    with running_snmpd(netns=ns.name) as agent:
        seen = oper_status(agent, set(radios))
        # The set-up did what it says: net-snmp reports the radios up/down as built.
        assert {n: s == 1 for n, s in seen.items()} == radios
        obs = poll_in(ns, agent.port)
    assert obs.error is None, obs.message
    assert obs.profiles[-1] == "linux"
    assert {i.name for i in obs.interfaces if i.radio} == set(radios)
    assert not any(i.radio for i in obs.interfaces if i.name in ("eth0", "lo"))
    state = SnmpDeviceState()
    state.apply(obs)
    assert state.wifi_down() is down


@pytest.mark.timeout(120)
def test_openwrt_extend_figures_on_real_snmpd(netlab):
    ns = make_ap(netlab, "profiles-ext", {"ra0": True, "rai0": True})
    conf = [f"extend {name} /bin/echo {text}" for name, text in EXTENDS.items()]
    conf.append("extend clients-ra1 /bin/echo n/a")  # a broken script: said, not swallowed
    with running_snmpd(netns=ns.name, extra_conf=conf) as agent:
        out = agent.run_tool("snmpwalk", *NETSNMP_FLAGS, "-v2c", "-c", "public",
                             f"{agent.host}:{agent.port}", EXTEND_OUTPUT)  # fmt: skip
        # The index is the extend's name, length-prefixed, after the 13 sub-ids of the column.
        walked = {bytes(o[14 : 14 + o[13]]).decode(): v.decode() for o, _, v in parse_netsnmp(out)}
        obs = poll_in(ns, agent.port)
    assert walked == {**EXTENDS, "clients-ra1": "n/a"}
    assert obs.error is None, obs.message
    clients = {(dict(s.labels)["scope"], dict(s.labels).get("interface", "")): s.value
               for s in obs.wifi_clients}  # fmt: skip
    assert clients == {
        ("interface", "ra0"): float(walked["clients-ra0"]),
        ("interface", "rai0"): float(walked["clients-rai0"]),
        ("device", ""): float(walked["clients-wlan"]),
    }
    extras = {(s.metric, dict(s.labels)["interface"]): s.value for s in obs.samples
              if s.metric.startswith("wifi_")}  # fmt: skip
    assert extras == {
        ("wifi_radio_frequency_hertz", "ra0"): float(walked["frequency-ra0"]) * 1e6,
        ("wifi_radio_noise_floor_dbm", "rai0"): float(walked["noise-floor-rai0"]),
        ("wifi_link_snr_db", "ra0"): float(walked["snr-ra0-avg"]),
    }
    assert [e for e in obs.partial_errors if "not a number: 'n/a'" in e], obs.partial_errors


def test_snmpd_is_net_snmp_linux():
    # The profile is chosen by net-snmp's Linux sysObjectID (NET-SNMP-TC linux 8072.3.2.10).
    out = subprocess.run(["snmpd", "-v"], capture_output=True, text=True, timeout=10)
    assert "NET-SNMP" in out.stdout + out.stderr
