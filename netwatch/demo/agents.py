"""Per-device SNMP for the demo: the engine's simulated agent on each device's 127.x address.

Routers and APs look like MikroTik RouterOS (so the vendor profile, Wi-Fi client counts and
radio status are exercised); traffic counters grow at a per-device rate. An AP named in
`radio_down` answers ping but its wlan1 is oper-down: SNMP makes its village degraded.
Run inside the demo's namespace, where every 127.x address is local.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable

from netwatch.collectors.snmp.agent import Counter, Table, serve
from netwatch.collectors.snmp.types import OID, Kind, Value
from netwatch.core.model import Device, Inventory, Role

MIKROTIK: OID = (1, 3, 6, 1, 4, 1, 14988, 1)
IF_ENTRY: OID = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_ENTRY: OID = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
WL_AP_ENTRY: OID = (1, 3, 6, 1, 4, 1, 14988, 1, 1, 1, 3, 1)
HR_CPU: OID = (1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2, 1)
ETHERNET, IEEE80211 = 6, 71


def _s(text: str) -> Value:
    return Value(Kind.OCTET_STRING, text.encode())


def _i(n: int, kind: Kind = Kind.INTEGER) -> Value:
    return Value(kind, n)


def device_table(device: Device, radio_down: bool = False) -> Table:
    """The OID table one demo device answers with."""
    seed = zlib.crc32(device.name.encode())
    rate = 20_000 + seed % 400_000  # bytes/s, stable per device
    ifaces = [(1, "ether1", ETHERNET, 1, 1_000_000_000)]
    if device.role is Role.AP:
        ifaces.append((2, "wlan1", IEEE80211, 2 if radio_down else 1, 300_000_000))
    else:
        ifaces.append((2, "ether2", ETHERNET, 1, 1_000_000_000))
    values: dict[OID, Value | Counter] = {
        (1, 3, 6, 1, 2, 1, 1, 1, 0): _s(f"RouterOS netwatch demo ({device.role.value})"),
        (1, 3, 6, 1, 2, 1, 1, 2, 0): Value(Kind.OBJECT_IDENTIFIER, MIKROTIK),
        (1, 3, 6, 1, 2, 1, 1, 5, 0): _s(device.name),
        HR_CPU: _i(seed % 40),
    }
    for idx, name, if_type, oper, speed in ifaces:
        share = 1.0 if idx == 1 else 0.8
        values.update({
            (*IF_ENTRY, 2, idx): _s(name),
            (*IF_ENTRY, 3, idx): _i(if_type),
            (*IF_ENTRY, 7, idx): _i(1),
            (*IF_ENTRY, 8, idx): _i(oper),
            (*IF_ENTRY, 14, idx): _i(0, Kind.COUNTER32),
            (*IF_ENTRY, 20, idx): _i(0, Kind.COUNTER32),
            (*IFX_ENTRY, 1, idx): _s(name),
            (*IFX_ENTRY, 6, idx): Counter(seed * 1000, rate * share if oper == 1 else 0),
            (*IFX_ENTRY, 10, idx): Counter(seed * 300, rate * share / 8 if oper == 1 else 0),
            (*IFX_ENTRY, 15, idx): _i(speed // 1_000_000, Kind.GAUGE32),
        })  # fmt: skip
    if device.role is Role.AP:
        clients = 0 if radio_down else seed % 25
        values[(*WL_AP_ENTRY, 4, 2)] = _s("Banyuwangi Smart Kampung")
        values[(*WL_AP_ENTRY, 6, 2)] = _i(clients, Kind.COUNTER32)
    return Table(values)


async def serve_demo_agents(
    inventory: Inventory, community: str, port: int = 161, radio_down: Iterable[str] = ()
) -> list[asyncio.DatagramTransport]:
    """One simulated agent per device address; close the returned transports to stop."""
    down = set(radio_down)
    transports: list[asyncio.DatagramTransport] = []
    try:
        for device in inventory.devices.values():
            if device.snmp is None:
                continue
            table = device_table(device, device.name in down)
            transport, _agent = await serve(device.address, port, {community: table})
            transports.append(transport)
    except BaseException:
        for t in transports:
            t.close()
        raise
    return transports
