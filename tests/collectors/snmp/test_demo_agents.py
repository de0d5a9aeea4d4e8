"""Demo devices on the simulated agent, polled through the collector and read back from state."""

from __future__ import annotations

import asyncio

from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.collectors.snmp import PLUGIN as SNMP
from netwatch.collectors.snmp.collector import probe
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.core.model import Inventory, Role, Settings, Village, VillageKind
from netwatch.core.state import State, VillageStatus
from netwatch.demo.agents import serve_demo_agents
from tests.collectors.snmp.support import SETTINGS, device, v2c
from tests.helpers.snmpd import free_udp_port


async def test_demo_agents_answer_per_device_and_drive_the_rollup():
    devs = {
        "r1": device("r1", address="127.0.0.1", role=Role.ROUTER, snmp="demo-v2"),
        "ap1": device("ap1", address="127.0.0.1", role=Role.AP, snmp="demo-v2"),
    }
    # Two devices on one address would collide: give the AP its own port via its own agent.
    port_r, port_ap = free_udp_port(), free_udp_port()
    village = Village("35.10.07.2001", "Purwodadi", VillageKind.DESA, "35.10.07",
                      devices=("r1", "ap1"))  # fmt: skip
    inv = Inventory("35.10", "Banyuwangi", Settings(), {}, {village.code: village}, devs, {})
    only = lambda name: Inventory("35.10", "B", Settings(), {}, {}, {name: devs[name]}, {})  # noqa: E731
    transports = await serve_demo_agents(only("r1"), "demo", port_r)
    transports += await serve_demo_agents(only("ap1"), "demo", port_ap, radio_down=["ap1"])
    state = State(inv)
    try:
        async with SnmpEngine() as engine:
            for name, port in (("r1", port_r), ("ap1", port_ap)):
                res = PingResult(address="127.0.0.1", sent=1, received=1, rtts=[0.001])
                state.record(PingObservation(device=name, time=1.0, result=res))
                for _ in range(2):
                    obs = await probe(devs[name], v2c("demo", port), SETTINGS, engine)
                    assert obs.error is None, obs.message
                    state.record(obs)
                    await asyncio.sleep(0.3)
    finally:
        for t in transports:
            t.close()
    ap = state.devices["ap1"].part(SNMP).last_ok
    assert ap.profiles[-1] == "mikrotik-routeros" and ap.sys_name == "ap1"
    assert [(i.name, i.radio, i.oper_status) for i in ap.interfaces] == [
        ("ether1", False, 1), ("wlan1", True, 2)
    ]  # fmt: skip
    assert state.village_status(village.code) is VillageStatus.DOWN  # its only AP: no radio up
    router = state.devices["r1"].part(SNMP)
    assert router.interfaces[1].in_bps > 0  # the simulated counters grow
    assert router.reboots_total == 0
