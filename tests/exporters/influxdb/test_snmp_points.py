"""SNMP polls → points, with stand-ins that have the attribute names of SnmpObservation and
the SNMP device state (netwatch/core/observations.py, collectors/snmp/state.py).
"""

from __future__ import annotations

import time
from types import SimpleNamespace as NS

from netwatch.exporters.influxdb.points import PointBuilder
from netwatch.exporters.influxdb.snmp_points import is_snmp_observation, snmp_lines
from tests.exporters.influxdb import sample
from tests.helpers.lineproto import parse


def iface(index: int, name: str, **kw: object) -> NS:
    base = dict(
        index=index, name=name, alias="", descr="", admin_status=1, oper_status=1,
        speed_bps=1e9, in_octets=0, out_octets=0, radio=False,
    )  # fmt: skip
    base.update(kw)
    return NS(**base)


def observation(t: float, error: str | None = None) -> NS:
    return NS(
        device="rtr,desa=1", time=t, duration=0.25, error=error, uptime_ticks=123456,
        cpu_load_ratio=0.5, memory_used_bytes=1000.0, memory_total_bytes=4000.0,
        interfaces=[iface(1, "ether1"), iface(2, "wlan 1", oper_status=2, speed_bps=None)],
        wifi_clients=[NS(metric="wifi_clients", value=7.0, labels=(("ssid", "Smart Kampung"),))],
        optical=[
            NS(metric="optical_rx_power_dbm", value=-21.5, labels=(("port", "0/1/1"),)),
            NS(metric="optical_tx_power_dbm", value=2.25, labels=(("port", "0/1/1"),)),
        ],
        samples=[NS(metric="dhcp_leases", value=42.0, labels=())],
    )  # fmt: skip


def device_state() -> NS:
    inv = sample.inventory()
    counters = {"in_octets": NS(total=10_000_000_000), "out_octets": NS(total=5)}
    interfaces = {
        1: NS(counters=counters, in_bps=8e6, out_bps=0.5),
        2: NS(counters={}, in_bps=None, out_bps=None),
    }
    snmp = NS(reboots_total=2, interfaces=interfaces)
    return NS(device=inv.devices["rtr,desa=1"], snmp=snmp), inv


def test_snmp_poll_becomes_typed_points_with_device_and_interface_tags() -> None:
    ds, inv = device_state()
    t = float(int(time.time()))
    obs = observation(t)
    assert is_snmp_observation(obs)
    lines = parse("\n".join(snmp_lines(PointBuilder(inv, "ms"), ds, obs, inv)))
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
    ds, inv = device_state()
    lines = parse(
        "\n".join(snmp_lines(PointBuilder(inv, "s"), ds, observation(100.0, "timeout"), inv))
    )
    assert [(x.measurement, x.fields, x.timestamp) for x in lines] == [
        ("netwatch_snmp", {"up": 0, "duration_seconds": 0.25, "reboots": 2}, 100)
    ]
