"""Trap listener: net-snmp's snmptrap/snmpinform to a free loopback port."""

from __future__ import annotations

import asyncio
import os
import shutil
import time

import pytest
from netwatch.collectors.snmp.traps import TrapListener

from netwatch.model import Inventory, SecretRef, Settings, SnmpCredential, SnmpTrapSettings
from netwatch.telemetry import REGISTRY
from tests.collectors.snmp.support import device
from tests.helpers.snmpd import free_udp_port

SNMPTRAP = shutil.which("snmptrap") or "/usr/bin/snmptrap"
SNMPINFORM = shutil.which("snmpinform") or "/usr/bin/snmpinform"
LINK_DOWN, COLD_START = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.1"
IF_INDEX_1 = ["1.3.6.1.2.1.2.2.1.1.3", "i", "3"]


def inventory(address: str) -> Inventory:
    os.environ["NW_TEST_TRAP_COMMUNITY"] = "village-secret"
    cred = SnmpCredential(
        name="v2", version="2c", community=SecretRef(env="NW_TEST_TRAP_COMMUNITY")
    )
    dev = device("ap-1", address=address, snmp="v2")
    return Inventory("35.10", "Banyuwangi", Settings(), {}, {}, {dev.name: dev}, {"v2": cred})


def count(trap: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "netwatch_snmp_traps_received_total", {"trap": trap, "result": result}
    )
    return value or 0.0


async def run_tool(*args: str) -> int:
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    await asyncio.wait_for(proc.communicate(), timeout=10)
    return proc.returncode or 0


async def wait_for(pred, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(0.02)
    return pred()


@pytest.fixture
async def listener():
    if not shutil.which("snmptrap"):
        pytest.skip("net-snmp's snmptrap is not installed (apt-get install snmp)")
    holder = {"inv": inventory("127.0.0.1")}
    requests: list[tuple[str, str, str]] = []
    settings = SnmpTrapSettings(enabled=True, address="127.0.0.1", port=free_udp_port())
    lst = TrapListener(lambda: holder["inv"], lambda *a: requests.append(a), settings)
    addr = await lst.start()
    try:
        yield lst, addr, requests, holder
    finally:
        await lst.stop()


async def test_v2c_trap_from_known_device_requests_a_poll(listener):
    _lst, (host, port), requests, _ = listener
    before = count("linkDown", "accepted")
    rc = await run_tool(SNMPTRAP, "-v2c", "-c", "village-secret", "-m", "", f"{host}:{port}",
                        "", LINK_DOWN, *IF_INDEX_1)  # fmt: skip
    assert rc == 0
    assert await wait_for(lambda: requests)
    assert requests == [("ap-1", "snmp", "trap linkDown")]
    assert count("linkDown", "accepted") == before + 1


async def test_inform_is_acknowledged_and_requests_a_poll(listener):
    _lst, (host, port), requests, _ = listener
    rc = await run_tool(SNMPINFORM, "-v2c", "-c", "village-secret", "-m", "", "-t", "2", "-r", "0",
                        f"{host}:{port}", "", COLD_START)  # fmt: skip
    assert rc == 0  # snmpinform exits 0 only when the listener acknowledged it
    assert requests == [("ap-1", "snmp", "trap coldStart")]


async def test_bad_community_is_counted_and_ignored(listener):
    _lst, (host, port), requests, _ = listener
    before = count("unknown", "bad_credentials")
    rc = await run_tool(SNMPINFORM, "-v2c", "-c", "wrong", "-m", "", "-t", "0.5", "-r", "0",
                        f"{host}:{port}", "", LINK_DOWN)  # fmt: skip
    assert rc != 0  # no acknowledgement for a bad community
    assert await wait_for(lambda: count("unknown", "bad_credentials") == before + 1)
    assert requests == []


async def test_unknown_sender_is_counted_and_ignored(listener):
    _lst, (host, port), requests, holder = listener
    holder["inv"] = inventory("127.0.0.9")  # the device lives elsewhere: 127.0.0.1 is unknown
    before = count("linkDown", "unknown_sender")
    rc = await run_tool(SNMPINFORM, "-v2c", "-c", "village-secret", "-m", "", "-t", "2", "-r", "0",
                        f"{host}:{port}", "", LINK_DOWN)  # fmt: skip
    assert rc == 0
    assert count("linkDown", "unknown_sender") == before + 1
    assert requests == []
