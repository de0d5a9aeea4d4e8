"""The cached /metrics text path: same samples as client_python's encoder, fresh after each
observation, and devices removed by a reload gone at once."""

from __future__ import annotations

import dataclasses

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from netwatch.collectors.icmp import PLUGIN as ICMP
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.collectors.snmp import PLUGIN as SNMP
from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation, SnmpSample
from netwatch.core.model import Role
from netwatch.core.state import State
from netwatch.exporters.prometheus import Exposition, PluginText, metric_families
from tests.core.inventories import make_inventory

V = "35.10.07.2001"


def _state() -> State:
    return State(
        make_inventory({V: [("r", Role.ROUTER, "127.0.7.1"), ("ap", Role.AP, "127.0.7.2")]})
    )


def _poll(device: str, t: float, octets: int, wifi: list[SnmpSample]) -> SnmpObservation:
    iface = SnmpInterface(1, "wlan1", oper_status=1, admin_status=1, in_octets=octets,
                          out_octets=octets // 2, radio=True)  # fmt: skip
    return SnmpObservation(device, t, uptime_ticks=int(t * 100), interfaces=[iface],
                           wifi_clients=wifi)  # fmt: skip


def _samples(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def _reference(state: State) -> str:
    class Source:
        def collect(self):
            return metric_families(state, SNMP)

    reg = CollectorRegistry(auto_describe=False)
    reg.register(Source())
    return generate_latest(reg).decode()


def test_label_union_and_freshness_match_client_python() -> None:
    s = _state()
    # Two devices whose Wi-Fi samples carry different label names: the union, "" elsewhere.
    s.record(_poll("r", 100.0, 1000, [SnmpSample("wifi_clients", 3, (("ssid", "Desa"),))]))
    s.record(_poll("ap", 100.0, 5000, [SnmpSample("wifi_clients", 7, (("radio", "2.4"),))]))
    text = PluginText(SNMP)
    first = bytearray()
    text.render(s, first)
    assert _samples(first.decode()) == _samples(_reference(s))
    assert ("netwatch_snmp_wifi_clients",
            (("device", "r"), ("district", "35.10.07"), ("radio", ""), ("role", "router"),
             ("ssid", "Desa"), ("village", V)), 3.0) in _samples(first.decode())  # fmt: skip
    # A new poll of one device shows at the next scrape; the other device's lines are reused.
    s.record(_poll("ap", 160.0, 65000, [SnmpSample("wifi_clients", 9, (("radio", "2.4"),))]))
    second = bytearray()
    text.render(s, second)
    assert _samples(second.decode()) == _samples(_reference(s))
    assert _samples(second.decode()) != _samples(first.decode())
    # Same label names everywhere again: the cached lines are used as they are.
    s.record(_poll("r", 160.0, 2000, [SnmpSample("wifi_clients", 4, (("radio", "5"),))]))
    third = bytearray()
    text.render(s, third)
    assert _samples(third.decode()) == _samples(_reference(s))


def test_reload_drops_removed_devices_and_relabels_changed_ones() -> None:
    s = _state()
    for name in ("r", "ap"):
        s.record(PingObservation(name, 10.0, PingResult("127.0.0.1", 5, 5, [0.001] * 5)))
    exposition = Exposition(s, [ICMP])
    before = exposition.render().decode()
    assert 'netwatch_device_up{device="ap"' in before
    inv = s.inventory
    moved = dataclasses.replace(inv.devices["r"], role=Role.OTHER)
    village = dataclasses.replace(inv.villages[V], devices=("r",))
    s.replace_inventory(dataclasses.replace(inv, devices={"r": moved}, villages={V: village}))
    after = exposition.render().decode()
    assert 'device="ap"' not in after
    assert 'netwatch_device_up{device="r",role="other"' in after  # new labels, same state
