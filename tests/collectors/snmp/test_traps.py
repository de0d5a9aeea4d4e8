"""Trap listener: net-snmp's snmptrap/snmpinform to a free loopback port."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest

from netwatch.collectors.snmp.traps import TrapListener
from netwatch.core.model import Inventory, SecretRef, Settings, SnmpCredential, SnmpTrapSettings
from netwatch.core.telemetry import REGISTRY
from tests.collectors.snmp.support import device
from tests.helpers import needs
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
    needs.tool("snmptrap", "snmp")
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
    await _lst.reload()
    before = count("unknown", "unknown_sender")
    rc = await run_tool(SNMPINFORM, "-v2c", "-c", "village-secret", "-m", "", "-t", "1", "-r", "0",
                        f"{host}:{port}", "", LINK_DOWN)  # fmt: skip
    assert rc != 0  # dropped before decoding: not even acknowledged
    assert await wait_for(lambda: count("unknown", "unknown_sender") == before + 1)
    assert requests == []


async def test_v3_inform_right_and_wrong_key():
    needs.tool("snmpinform", "snmp")
    os.environ["NW_TEST_TRAP_AUTH"] = "authpass123"
    os.environ["NW_TEST_TRAP_PRIV"] = "privpass123"
    cred = SnmpCredential(
        name="v3", version="3", user="trapuser", auth_protocol="sha",
        auth_key=SecretRef(env="NW_TEST_TRAP_AUTH"), priv_protocol="aes128",
        priv_key=SecretRef(env="NW_TEST_TRAP_PRIV"),
    )  # fmt: skip
    dev = device("olt-1", address="127.0.0.1", snmp="v3")
    inv = Inventory("35.10", "Banyuwangi", Settings(), {}, {}, {dev.name: dev}, {"v3": cred})
    requests: list[tuple[str, str, str]] = []
    settings = SnmpTrapSettings(enabled=True, address="127.0.0.1", port=free_udp_port())
    lst = TrapListener(lambda: inv, lambda *a: requests.append(a), settings)
    host, port = await lst.start()
    try:
        base = [SNMPINFORM, "-v3", "-u", "trapuser", "-l", "authPriv", "-a", "SHA", "-x", "AES",
                "-X", "privpass123", "-m", "", "-t", "1", "-r", "0"]  # fmt: skip
        before = count("unknown", "bad_credentials")
        rc = await run_tool(*base, "-A", "authpass123", f"{host}:{port}", "", "1.3.6.1.6.3.1.1.5.4")
        assert rc == 0
        assert requests == [("olt-1", "snmp", "trap linkUp")]
        rc = await run_tool(*base, "-A", "wrongpass999", f"{host}:{port}", "", LINK_DOWN)
        assert rc != 0
        assert await wait_for(lambda: count("unknown", "bad_credentials") > before)
        assert len(requests) == 1
    finally:
        await lst.stop()


async def test_reload_adopts_new_communities(listener):
    lst, (host, port), requests, holder = listener
    os.environ["NW_TEST_TRAP_COMMUNITY_2"] = "rotated-secret"
    cred = SnmpCredential(name="v2", version="2c",
                          community=SecretRef(env="NW_TEST_TRAP_COMMUNITY_2"))  # fmt: skip
    dev = device("ap-1", address="127.0.0.1", snmp="v2")
    holder["inv"] = Inventory("35.10", "Banyuwangi", Settings(), {}, {}, {dev.name: dev},
                              {"v2": cred})  # fmt: skip
    await lst.reload()
    assert lst.address == (host, port)
    inform = [SNMPINFORM, "-v2c", "-m", "", "-t", "0.5", "-r", "0"]
    assert await run_tool(*inform, "-c", "village-secret", f"{host}:{port}", "", LINK_DOWN) != 0
    assert await run_tool(*inform, "-c", "rotated-secret", f"{host}:{port}", "", LINK_DOWN) == 0
    assert requests == [("ap-1", "snmp", "trap linkDown")]


def test_snmp_traps_settings_parse_from_yaml(tmp_path):
    from netwatch.config import load_inventory

    src = (Path(__file__).resolve().parents[3] / "configs" / "banyuwangi.yaml").read_text()
    line = "  scheduler: {max_concurrency: 1000, misfire_grace: 5s}\n"
    assert line in src
    src = src.replace(
        line, line + "  snmp_traps: {enabled: true, port: 10162, credentials: [demo-v2]}\n"
    )
    (tmp_path / "inv.yaml").write_text(src)
    traps = load_inventory(tmp_path / "inv.yaml").settings.snmp_traps
    assert traps == SnmpTrapSettings(enabled=True, port=10162, credentials=("demo-v2",))


async def test_v1_generic_trap_maps_to_its_v2_name(listener):
    _lst, (host, port), requests, _ = listener
    # SNMPv1 generic-trap 3 = linkUp (RFC 1157); RFC 3584 maps it to snmpTrapOID linkUp.
    enterprise, agent = "1.3.6.1.4.1.8072.3.2.10", "127.0.0.1"
    rc = await run_tool(SNMPTRAP, "-v1", "-c", "village-secret", "-m", "", f"{host}:{port}",
                        enterprise, agent, "3", "0", "", *IF_INDEX_1)  # fmt: skip
    assert rc == 0
    assert await wait_for(lambda: requests)
    assert requests == [("ap-1", "snmp", "trap linkUp")]


# HUAWEI-XPON-TRAP-MIB: hwXponDeviceOntAlarmTraps (hwXponDeviceObjects 12.2.2, where
# hwXponDeviceObjects is HUAWEI-XPON-MIB's { hwXponDeviceMIB 1 1 } and hwXponDeviceMIB is
# { huaweiUtility 128 } = 2011.6.128) { 0 18 } is hwGponProfOntDGAlarmTrap, { 0 12 } the LOS one.
HW_ONT_DG = "1.3.6.1.4.1.2011.6.128.1.1.12.2.2.0.18"
HW_ONT_LOS = "1.3.6.1.4.1.2011.6.128.1.1.12.2.2.0.12"


@pytest.mark.parametrize(
    ("oid", "name"),
    [(HW_ONT_DG, "hwGponProfOntDGAlarmTrap"), (HW_ONT_LOS, "hwGponProfOntLOSAlarmTrap")],
)
async def test_an_olts_onu_alarm_trap_requests_a_poll(listener, oid: str, name: str):
    _lst, (host, port), requests, _ = listener
    before = count(name, "accepted")
    rc = await run_tool(SNMPTRAP, "-v2c", "-c", "village-secret", "-m", "", f"{host}:{port}",
                        "", oid, "1.3.6.1.4.1.2011.6.128.1.1.2.43.1.9.4194312448.0", "s",
                        "desa-kaligondo")  # fmt: skip
    assert rc == 0
    assert await wait_for(lambda: requests)
    assert requests == [("ap-1", "snmp", f"trap {name}")]
    assert count(name, "accepted") == before + 1


async def test_an_unknown_enterprise_trap_asks_for_nothing(listener):
    _lst, (host, port), requests, _ = listener
    before = count("other", "ignored")
    # The same subtree one arc off: a Huawei ONT alarm we do not name (hwGponProfOntSUF...).
    rc = await run_tool(SNMPTRAP, "-v2c", "-c", "village-secret", "-m", "", f"{host}:{port}",
                        "", "1.3.6.1.4.1.2011.6.128.1.1.12.2.2.0.14")  # fmt: skip
    assert rc == 0
    assert await wait_for(lambda: count("other", "ignored") == before + 1)
    assert requests == []
