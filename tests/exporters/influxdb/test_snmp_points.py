"""SNMP polls → points through the SNMP collector's EVENT samples and the generic point
builder, with a hand-made SNMP device state (totals and rates set, not computed here).
"""

from __future__ import annotations

import time

from netwatch.collectors.snmp import PLUGIN as SNMP
from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation, SnmpSample
from netwatch.collectors.snmp.state import Accum, InterfaceState, SnmpDeviceState
from netwatch.core.plugins import plugin_for
from netwatch.core.samples import View
from netwatch.exporters.influxdb.points import PointBuilder
from tests.exporters.influxdb import sample
from tests.helpers.lineproto import parse


def iface(index: int, name: str, **kw: object) -> SnmpInterface:
    base = dict(
        index=index, name=name, alias="", descr="", admin_status=1, oper_status=1,
        speed_bps=1e9, in_octets=0, out_octets=0, radio=False,
    )  # fmt: skip
    base.update(kw)
    return SnmpInterface(**base)  # type: ignore[arg-type]


def observation(t: float, error: str | None = None) -> SnmpObservation:
    return SnmpObservation(
        device="rtr,desa=1", time=t, duration=0.25, error=error, uptime_ticks=123456,
        cpu_load_ratio=0.5, memory_used_bytes=1000.0, memory_total_bytes=4000.0,
        interfaces=[iface(1, "ether1"), iface(2, "wlan 1", oper_status=2, speed_bps=None)],
        wifi_clients=[SnmpSample("wifi_clients", 7.0, (("ssid", "Smart Kampung"),))],
        optical=[
            SnmpSample("optical_rx_power_dbm", -21.5, (("port", "0/1/1"),)),
            SnmpSample("optical_tx_power_dbm", 2.25, (("port", "0/1/1"),)),
        ],
        samples=[SnmpSample("dhcp_leases", 42.0)],
    )  # fmt: skip


def device_state(obs: SnmpObservation):
    inv = sample.inventory()
    counters = {"in_octets": Accum(0, 10_000_000_000, 64), "out_octets": Accum(5, 5, 64)}
    interfaces = {
        1: InterfaceState(obs.interfaces[0], counters=counters, in_bps=8e6, out_bps=0.5),
        2: InterfaceState(obs.interfaces[1]),
    }
    st = SnmpDeviceState(last=obs, interfaces=interfaces, reboots_total=2)
    return inv.devices["rtr,desa=1"], st, inv


def snmp_lines(builder: PointBuilder, device, st, inv) -> list[str]:
    return builder.lines(device, inv, SNMP.samples_of(device, st, View.EVENT))


def test_snmp_poll_becomes_typed_points_with_device_and_interface_tags() -> None:
    t = float(int(time.time()))
    obs = observation(t)
    device, st, inv = device_state(obs)
    assert plugin_for(obs) is SNMP
    lines = parse("\n".join(snmp_lines(PointBuilder(inv, "ms"), device, st, inv)))
    by = {
        (x.measurement, x.tags.get("interface") or x.tags.get("ssid") or x.tags.get("port")): x
        for x in lines
    }
    dev = by[("netwatch_snmp", None)]
    assert dev.fields == {
        "up": 1, "duration_seconds": 0.25, "uptime_seconds": 1234.56, "cpu_load_ratio": 0.5,
        "memory_used_bytes": 1000.0, "memory_total_bytes": 4000.0, "reboots": 2,
    }  # fmt: skip
    assert dev.timestamp == int(t * 1000)
    assert dev.tags["village_name"] == sample.VILLAGE_NAME
    eth = by[("netwatch_interface", "ether1")]
    assert eth.tags["ifindex"] == "1" and eth.tags["device"] == "rtr,desa=1"
    assert eth.fields["in_octets"] == 10_000_000_000 and type(eth.fields["in_octets"]) is int
    assert eth.fields["in_bits_per_second"] == 8e6 and eth.fields["out_bits_per_second"] == 0.5
    assert type(eth.fields["out_bits_per_second"]) is float
    assert eth.fields["oper_up"] == 1 and eth.fields["speed_bits_per_second"] == 1e9
    wlan = by[("netwatch_interface", "wlan 1")]
    assert wlan.fields == {"oper_up": 0, "admin_up": 1}
    assert by[("netwatch_wifi", "Smart Kampung")].fields == {"clients": 7}
    assert by[("netwatch_optical", "0/1/1")].fields == {"rx_power_dbm": -21.5, "tx_power_dbm": 2.25}
    assert by[("netwatch_snmp_extra", None)].fields == {"dhcp_leases": 42.0}
    for line in lines:
        assert not set(line.tags) & set(line.fields), line


def test_failed_poll_writes_only_up_zero() -> None:
    device, st, inv = device_state(observation(100.0, "timeout"))
    lines = parse("\n".join(snmp_lines(PointBuilder(inv, "s"), device, st, inv)))
    assert [(x.measurement, x.fields, x.timestamp) for x in lines] == [
        ("netwatch_snmp", {"up": 0, "duration_seconds": 0.25, "reboots": 2}, 100)
    ]
