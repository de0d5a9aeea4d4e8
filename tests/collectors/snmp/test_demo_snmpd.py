"""The demo's snmpd answers netwatch's poll (run on a free loopback port here)."""

from __future__ import annotations

import asyncio
import shutil

import pytest
from netwatch.collectors.snmp.collector import probe
from netwatch.collectors.snmp.engine import SnmpEngine

from netwatch.demo_snmp import demo_credential, start_demo_snmpd, stop_demo_snmpd
from tests.collectors.snmp.support import SETTINGS, device
from tests.helpers.snmpd import free_udp_port


def test_demo_snmpd_is_polled_as_a_linux_device():
    if not shutil.which("snmpd"):
        pytest.skip("snmpd is not installed (apt-get install snmpd)")
    port = free_udp_port()
    proc, work = start_demo_snmpd(port)
    try:

        async def run():
            async with SnmpEngine() as engine:
                return await probe(device("ap"), demo_credential(port), SETTINGS, engine)

        obs = asyncio.run(run())
    finally:
        stop_demo_snmpd(proc, work)
    assert obs.error is None, obs.message
    assert obs.sys_name == "netwatch-demo"
    assert obs.profiles[-1] == "linux"
    assert "lo" in {i.name for i in obs.interfaces}
