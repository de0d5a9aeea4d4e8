"""The /metrics text path (columns per family, both formats) against client_python's encoders
on the same samples: fresh after each observation, rows and families that go away are gone,
devices removed or relabelled by a reload follow at once."""

from __future__ import annotations

import dataclasses
import gzip
import math

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics import exposition as om_exposition
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as om_families,
)
from prometheus_client.parser import text_string_to_metric_families

from netwatch.collectors.icmp import PLUGIN as ICMP
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.collectors.service import PLUGIN as SERVICE
from netwatch.collectors.service.observation import ProbeResult, ServiceObservation
from netwatch.collectors.snmp import PLUGIN as SNMP
from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation, SnmpSample
from netwatch.core.model import Role
from netwatch.core.state import State
from netwatch.exporters import prometheus_alerts
from netwatch.exporters.prometheus import (
    Exposition,
    Format,
    StateCollector,
    inventory_families,
    metric_families,
)
from netwatch.exporters.prometheus_series import refresh_all
from tests.core.inventories import make_inventory

V = "35.10.07.2001"
W = "35.10.07.2002"
Samples = set[tuple[str, tuple[tuple[str, str], ...], float]]


def _state() -> State:
    return State(
        make_inventory({V: [("r", Role.ROUTER, "127.0.7.1"), ("ap", Role.AP, "127.0.7.2")]})
    )


def _poll(device: str, t: float, octets: int, wifi: list[SnmpSample], **kw) -> SnmpObservation:
    iface = SnmpInterface(1, "wlan1", oper_status=1, admin_status=1, in_octets=octets,
                          out_octets=octets // 2, radio=True)  # fmt: skip
    ifaces = kw.pop("interfaces", [iface])
    return SnmpObservation(device, t, uptime_ticks=int(t * 100), interfaces=ifaces,
                           wifi_clients=wifi, **kw)  # fmt: skip


def _samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def _om_samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for fam in om_families(text)
        for s in fam.samples
    }


def _reference(state: State, sources: list, openmetrics: bool = False) -> str:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StateCollector(state, sources))
    if openmetrics:
        return om_exposition.generate_latest(reg).decode()
    return generate_latest(reg).decode()


def _snmp_reference(state: State) -> str:
    class Source:
        def collect(self):
            return metric_families(state, SNMP)

    reg = CollectorRegistry(auto_describe=False)
    reg.register(Source())
    return generate_latest(reg).decode()


def _text(exposition: Exposition, fmt: Format = Format.TEXT) -> str:
    text = exposition.render(fmt=fmt).decode()
    # A gzip scrape reuses the slices kept from the last one whose inputs did not change: it
    # must write the same body at every step of every test here (new polls, rows gone, reloads).
    assert gzip.decompress(exposition.render_gzip(fmt)).decode() == text
    return text


def test_label_union_and_freshness_match_client_python() -> None:
    s = _state()
    # Two devices whose Wi-Fi samples carry different label names: the union, "" elsewhere.
    s.record(_poll("r", 100.0, 1000, [SnmpSample("wifi_clients", 3, (("ssid", "Desa"),))]))
    s.record(_poll("ap", 100.0, 5000, [SnmpSample("wifi_clients", 7, (("radio", "2.4"),))]))
    exposition = Exposition(s, [SNMP])
    first = _text(exposition)
    assert _samples(first) == _samples(_snmp_reference(s))
    assert ("netwatch_snmp_wifi_clients",
            (("device", "r"), ("district", "35.10.07"), ("radio", ""), ("role", "router"),
             ("ssid", "Desa"), ("village", V)), 3.0) in _samples(first)  # fmt: skip
    # A new poll of one device shows at the next scrape; the other device's values stay.
    s.record(_poll("ap", 160.0, 65000, [SnmpSample("wifi_clients", 9, (("radio", "2.4"),))]))
    second = _text(exposition)
    assert _samples(second) == _samples(_snmp_reference(s))
    assert _samples(second) != _samples(first)
    # Same label names everywhere again: the union shrinks back to them.
    s.record(_poll("r", 160.0, 2000, [SnmpSample("wifi_clients", 4, (("radio", "5"),))]))
    third = _text(exposition)
    assert _samples(third) == _samples(_snmp_reference(s))
    assert "ssid=" not in third


def test_rows_and_vendor_families_that_go_away_are_gone() -> None:
    s = _state()
    two = [SnmpInterface(1, "wlan1", oper_status=1, in_octets=10, out_octets=5),
           SnmpInterface(2, "ether1", oper_status=2, in_octets=20, out_octets=7)]  # fmt: skip
    extra = [SnmpSample("temperature_celsius", 41.5, (("sensor", "cpu"),))]
    s.record(_poll("r", 100.0, 0, [], interfaces=two, samples=extra))
    exposition = Exposition(s, [SNMP])
    first = _text(exposition)
    assert 'interface="ether1"' in first and "netwatch_snmp_temperature_celsius{" in first
    # The next poll has one interface and no vendor sample: both vanish from the scrape.
    s.record(_poll("r", 160.0, 0, [], interfaces=two[:1]))
    second = _text(exposition)
    assert _samples(second) == _samples(_snmp_reference(s))
    assert 'interface="ether1"' not in second
    assert "netwatch_snmp_temperature_celsius" not in second
    # ... and come back when polled again (rows are reused, values fresh).
    s.record(_poll("r", 220.0, 0, [], interfaces=two, samples=extra))
    assert _samples(_text(exposition)) == _samples(_snmp_reference(s))


def test_nan_infinity_and_label_escaping_match_client_python() -> None:
    inv = make_inventory({V: [('ap "1"\\x\nb', Role.AP, "127.0.7.2")]})
    s = State(inv)
    name = next(iter(inv.devices))
    odd = [SnmpSample("noise_dbm", math.nan, (("radio", 'say "hi"\\'),)),
           SnmpSample("gain_db", math.inf, (("radio", "a\nb"),)),
           SnmpSample("loss_db", -math.inf, ())]  # fmt: skip
    s.record(_poll(name, 100.0, 0, [], samples=odd))
    text = _text(Exposition(s, [SNMP]))
    ours = {(n, lab): v for n, lab, v in _samples(text)}
    theirs = {(n, lab): v for n, lab, v in _samples(_snmp_reference(s))}
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert ours[key] == value or (math.isnan(ours[key]) and math.isnan(value)), key
    assert "+Inf" in text and "-Inf" in text and "NaN" in text


def _whole_state() -> State:
    """Two villages; ping, SNMP and service samples; one device without any observation."""
    s = State(
        make_inventory(
            {
                V: [("r", Role.ROUTER, "127.0.7.1"), ("ap", Role.AP, "127.0.7.2")],
                W: [("r2", Role.ROUTER, "127.0.8.1")],
            }
        )
    )
    for name, received in (("r", 5), ("ap", 0)):
        rtts = [0.0012345678901 * (k + 1) for k in range(received)]
        s.record(PingObservation(name, 1000.5, PingResult("x", 5, received, rtts), 1.0))
    s.record(_poll("r", 100.0, 1000, [SnmpSample("wifi_clients", 3, (("ssid", "Desa"),))]))
    probes = [ProbeResult("portal", "http", True, duration=0.02, http_status=200,
                          phases={"connect": 0.001, "processing": 0.01})]  # fmt: skip
    s.record(ServiceObservation("r", 1000.0, 0.02, probes))
    return s


def test_every_source_in_both_formats_matches_client_python() -> None:
    s = _whole_state()
    sources = [inventory_families, ICMP, SNMP, SERVICE]
    exposition = Exposition(s, sources)
    text = _text(exposition)
    assert _samples(text) == _samples(_reference(s, sources))
    om = _text(exposition, Format.OPENMETRICS) + "# EOF\n"
    assert _om_samples(om) == _om_samples(_reference(s, sources, openmetrics=True))
    # Counters are named without _total in OpenMetrics headers, with it in 0.0.4.
    assert "# TYPE netwatch_ping_echo_requests counter" in om
    assert "# TYPE netwatch_ping_echo_requests_total counter" in text
    # The village rollup: V's router answers, its only AP does not (down); W unknown.
    assert ("netwatch_village_status", (("district", "35.10.07"), ("status", "down"),
            ("village", V)), 1.0) in _samples(text)  # fmt: skip
    assert not any(n == "netwatch_village_wifi_up" and ("village", W) in lab
                   for n, lab, _ in _samples(text))  # fmt: skip


def test_alert_families_as_text_match_client_python(tmp_path) -> None:
    from tests.alerting.test_engine import make, with_down

    h = make(tmp_path)
    h.rounds(with_down(h, "rtr-1-2"), 3)
    state = State(h.inventory)
    sources = [prometheus_alerts.source(h.engine)]
    text = _text(Exposition(state, sources))
    assert _samples(text) == _samples(_reference(state, sources))
    assert "netwatch_village_service_state{" in text and "netwatch_alert_active{" in text


def test_reload_drops_removed_devices_and_relabels_changed_ones() -> None:
    s = _state()
    for name in ("r", "ap"):
        s.record(PingObservation(name, 10.0, PingResult("127.0.0.1", 5, 5, [0.001] * 5)))
    s.record(_poll("r", 100.0, 1000, []))
    exposition = Exposition(s, [ICMP, SNMP])
    before = _text(exposition)
    assert 'netwatch_device_up{device="ap"' in before
    inv = s.inventory
    moved = dataclasses.replace(inv.devices["r"], role=Role.OTHER)
    village = dataclasses.replace(inv.villages[V], devices=("r",))
    s.replace_inventory(dataclasses.replace(inv, devices={"r": moved}, villages={V: village}))
    after = _text(exposition)
    assert 'device="ap"' not in after
    assert 'netwatch_device_up{device="r",role="other"' in after  # new labels, same state
    # Labelled rows (an interface) carry the new device labels too.
    assert 'netwatch_snmp_interface_oper_up{device="r",role="other"' in after
    # A device added back later is sampled afresh in the freed slot.
    s.replace_inventory(inv)
    s.record(PingObservation("ap", 20.0, PingResult("127.0.0.1", 5, 0, [])))
    again = _text(exposition)
    assert _samples(again) == _samples(_reference(s, [ICMP, SNMP]))
    assert 'netwatch_device_up{device="ap",role="ap"' in again


def test_a_failing_source_is_left_out_and_the_rest_written() -> None:
    s = _state()
    s.record(PingObservation("r", 10.0, PingResult("127.0.0.1", 5, 5, [0.001] * 5)))

    def broken(state: State):
        raise RuntimeError("boom")

    text = _text(Exposition(s, [broken, ICMP]))
    assert 'netwatch_device_up{device="r"' in text


def test_the_columns_refresh_marks_slices_over_unchanged_devices_too() -> None:
    """A scrape with nothing new still looks at every device's parts (~20 ms at 50,000 devices,
    in one piece: issue 10, a scrape must not stall polling). The refresh marks a slice every
    SCAN devices it looks at, not only every so many samplings, and a device changed past the
    marks is sampled all the same; after a reload the device table's sync is sliced too."""
    villages = {
        f"35.10.07.{2001 + v}": [
            (f"r{v}", Role.ROUTER, f"127.7.{v // 250}.{v % 250 + 1}"),
            (f"ap{v}", Role.AP, f"127.8.{v // 250}.{v % 250 + 1}"),
        ]
        for v in range(5000)
    }
    state = State(make_inventory(villages))
    for name in state.devices:
        state.record(PingObservation(name, 1000.0, PingResult("x", 5, 5, [0.001] * 5), 1.0))
    expo = Exposition(state, [inventory_families, ICMP])
    expo.render()
    state.record(PingObservation("ap4999", 1030.0, PingResult("x", 5, 0, []), 1.0))
    expo.devices.sync(state)
    marks = sum(1 for _ in refresh_all(expo._series.values(), expo.devices))
    assert marks >= 10_000 // 4_000  # 10,000 devices looked at, one sampled again
    loss = {
        dict(labels)["device"]: value
        for name, labels, value in _samples(bytes(expo.render()).decode())
        if name == "netwatch_ping_loss_ratio"
    }
    assert loss["ap4999"] == 1.0 and loss["r4999"] == loss["r0"] == 0.0  # 0 of 5 answered
    # A reload that edits the last device: the device table follows the new dict in slices
    # too, and the edit shows (the sync used to be one piece before the first mark).
    inv = state.inventory
    devices = dict(inv.devices)
    devices["ap4999"] = dataclasses.replace(devices["ap4999"], role=Role.OTHER)
    state.replace_inventory(dataclasses.replace(inv, devices=devices))
    marks = sum(1 for _ in expo.devices.sync_steps(state))
    assert marks >= 10_000 // 4_000
    # The village rollup asks every village again after a reload: in slices of 500 villages.
    marks = sum(1 for _ in inventory_families.refresh(expo))
    assert marks >= 5_000 // 500
    text = _text(expo)
    assert 'netwatch_ping_loss_ratio{device="ap4999",role="other",' in text
    assert 'device="ap4999",role="ap"' not in text
    assert _samples(text) == _samples(_reference(state, [inventory_families, ICMP]))
