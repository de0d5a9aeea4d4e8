"""Defect 12: one misbehaving agent (endless tables, huge labels) inflated /metrics from 27 KB
to 6.2 MB and netwatch's memory by 165 MB. Series per device and label length are now capped,
and what was cut is counted per device.
"""

from __future__ import annotations

from netwatch.collectors.snmp import PLUGIN as SNMP
from netwatch.collectors.snmp.agent import Table, serve
from netwatch.collectors.snmp.collector import SnmpCollector
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.types import OID, Kind, Value
from netwatch.core.model import Inventory, Settings, SnmpSettings
from netwatch.core.state import State
from netwatch.exporters.prometheus import Exposition
from tests.collectors.snmp.support import device, v2c
from tests.helpers.snmpd import free_udp_port

IF_ENTRY: OID = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_ENTRY: OID = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
ROWS = 20_000


def endless_agent_table() -> Table:
    """An agent that answers 20,000 interfaces, each named with 1,000 characters."""
    values: dict[OID, Value] = {
        (1, 3, 6, 1, 2, 1, 1, 1, 0): Value(Kind.OCTET_STRING, b"broken agent " * 200),
        (1, 3, 6, 1, 2, 1, 1, 2, 0): Value(Kind.OBJECT_IDENTIFIER, (1, 3, 6, 1, 4, 1, 99999)),
        (1, 3, 6, 1, 2, 1, 1, 5, 0): Value(Kind.OCTET_STRING, b"x" * 5000),
    }
    for idx in range(1, ROWS + 1):
        name = (f"port{idx}-" + "z" * 1000)[:1000].encode()
        values[(*IF_ENTRY, 2, idx)] = Value(Kind.OCTET_STRING, name)
        values[(*IF_ENTRY, 8, idx)] = Value(Kind.INTEGER, 1)
        values[(*IFX_ENTRY, 1, idx)] = Value(Kind.OCTET_STRING, name)
        values[(*IFX_ENTRY, 6, idx)] = Value(Kind.COUNTER64, idx * 1000)
    return Table(values)


async def test_an_endless_agent_is_capped_and_counted() -> None:
    port = free_udp_port()
    transport, _ = await serve("127.0.0.1", port, {"broken": endless_agent_table()})
    try:
        cred = v2c("broken", port)
        snmp = SnmpSettings(
            timeout=2.0, retries=0, max_series_per_device=2000, max_label_length=128
        )
        dev = device("broken-ap", snmp=cred.name)
        inv = Inventory(
            "35.10", "Banyuwangi", Settings(snmp=snmp), {}, {}, {dev.name: dev}, {cred.name: cred}
        )
        state = State(inv)
        async with SnmpEngine() as engine:
            obs = await SnmpCollector(lambda: inv, engine).collect(dev)
        assert obs.error is None, obs.message
        state.record(obs)
        body = bytes(Exposition(state, [SNMP]).render()).decode()
    finally:
        transport.close()
    # 2000 series at 11 per interface: the 181 lowest ifIndex interfaces.
    interfaces = [ln for ln in body.splitlines() if ln.startswith("netwatch_snmp_interface_info{")]
    assert len(interfaces) == 2000 // 11 == 181
    assert 'ifindex="181"' in body and 'ifindex="182"' not in body
    for line in body.splitlines():
        if line.startswith("#"):
            continue
        for value in line.split('="')[1:]:
            assert len(value.split('"', 1)[0]) <= 128, line[:200]
    dropped = [
        ln for ln in body.splitlines() if ln.startswith("netwatch_snmp_series_dropped_total")
    ]
    by_reason = {
        ln.split('reason="')[1].split('"')[0]: float(ln.rsplit(" ", 1)[1]) for ln in dropped
    }
    # The walk stopped at 2000 rows: 1,819 interfaces beyond the cap, 11 series each.
    assert by_reason["series_limit"] == (2000 - 181) * 11
    assert by_reason["label_length"] >= 181 * 2
    assert len(body) < 200_000  # was megabytes
