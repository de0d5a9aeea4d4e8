"""The demo's snmpd answers netwatch's poll (run on a free loopback port here)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest

from netwatch.collectors.snmp.collector import probe
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.demo.snmpd import demo_credential, start_demo_snmpd, stop_demo_snmpd
from tests.collectors.snmp.support import SETTINGS, device
from tests.helpers import needs
from tests.helpers.snmpd import free_udp_port


def test_demo_snmpd_is_polled_as_a_linux_device():
    needs.tool("snmpd", "snmpd")
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


@pytest.mark.root
def test_demo_device_address_answers_inside_a_namespace():
    if os.geteuid() != 0:
        pytest.skip("needs root: a network namespace")
    needs.tool("snmpd", "snmpd")
    ns = f"nw-demosnmp-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True, capture_output=True)
    proc = work = None
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        proc, work = start_demo_snmpd(161, netns=ns)
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, "-m", "netwatch", "snmp", "poll",
             "--community-env", "NETWATCH_SNMP_COMMUNITY", "--json", "127.1.1.2"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        if proc is not None and work is not None:
            stop_demo_snmpd(proc, work)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["sys_name"] == "netwatch-demo" and doc["profiles"][-1] == "linux"
