"""What the exposition keeps between scrapes follows state exactly: the village rollup's statuses
(recomputed only for villages whose devices' verdicts changed) and the columns of devices sampled
again (one pass over the devices for every collector). Each step is compared with client_python
on the same state (StateCollector builds Metric objects and asks every village's status anew),
in both the plain and the gzip render (the gzip one reuses kept slices)."""

from __future__ import annotations

import dataclasses
import gzip
import math

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from netwatch.collectors.icmp import PLUGIN as ICMP
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.collectors.service.observation import ProbeResult, ServiceObservation
from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation
from netwatch.core.model import Device, Role
from netwatch.core.plugins import Plugin, registered
from netwatch.core.samples import Family, Kind, View
from netwatch.core.state import State
from netwatch.exporters.prometheus import (
    Exposition,
    StateCollector,
    inventory_families,
    metric_families,
)
from tests.core.inventories import make_inventory

V = "35.10.07.2001"
W = "35.10.07.2002"


def _state() -> State:
    return State(
        make_inventory(
            {
                V: [("r", Role.ROUTER, "127.0.7.1"), ("ap1", Role.AP, "127.0.7.2"),
                    ("ap2", Role.AP, "127.0.7.3")],
                W: [("r2", Role.ROUTER, "127.0.8.1"), ("ap3", Role.AP, "127.0.8.2")],
            }
        )
    )  # fmt: skip


def _ping(s: State, name: str, received: int, t: float) -> None:
    rtts = [0.0012345678901 * (k + 1) + t * 1e-9 for k in range(received)]
    s.record(PingObservation(name, t, PingResult("x", 5, received, rtts), 1.0))


def _radios(s: State, name: str, oper: int, t: float) -> None:
    """An SNMP poll of an AP whose one radio is oper up (1) or down (2)."""
    radio = SnmpInterface(1, "wlan0", oper_status=oper, admin_status=1, radio=True)
    s.record(SnmpObservation(name, t, uptime_ticks=int(t * 100), interfaces=[radio]))


def _samples(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    return {
        (m.name, tuple(sorted(m.labels.items())), m.value)
        for fam in text_string_to_metric_families(text)
        for m in fam.samples
    }


def _reference(s: State, sources: list) -> str:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StateCollector(s, sources))
    return generate_latest(reg).decode()


def _scrape(e: Exposition) -> str:
    text = e.render().decode()
    assert gzip.decompress(e.render_gzip()).decode() == text
    return text


def _status(text: str, village: str) -> str:
    (status,) = [
        dict(lab)["status"]
        for n, lab, v in _samples(text)
        if n == "netwatch_village_status" and ("village", village) in lab and v == 1.0
    ]
    return status


def test_rollup_kept_between_scrapes_follows_every_collectors_verdict(monkeypatch) -> None:
    s = _state()
    sources = [inventory_families, *registered()]  # every collector watched: statuses are kept
    e = Exposition(s, sources)
    assert _status(_scrape(e), V) == "unknown"
    for t, name in enumerate(("r", "ap1", "ap2", "r2", "ap3")):
        _ping(s, name, 5, 100.0 + t)
    text = _scrape(e)
    assert _samples(text) == _samples(_reference(s, sources))
    assert (_status(text, V), _status(text, W)) == ("up", "up")

    asked: list[str] = []
    status_of = s.village_status
    monkeypatch.setattr(s, "village_status", lambda code: asked.append(code) or status_of(code))
    _ping(s, "ap2", 0, 200.0)  # one AP of V stops answering: V degraded, W untouched
    text = _scrape(e)
    assert _samples(text) == _samples(_reference(s, sources))
    assert (_status(text, V), _status(text, W)) == ("degraded", "up")
    # The plain render asked for V (its AP's verdict changed); the gzip render after it, with
    # nothing new, asked for none; the reference asked for both villages.
    assert asked == [V, V, W]
    asked.clear()
    _ping(s, "ap3", 5, 201.0)  # a new round, the same verdict: no village asked again
    _scrape(e)
    assert asked == []
    # SNMP's verdict: V's other AP serves no Wi-Fi (its radio down): no AP serves, V down.
    _radios(s, "ap1", 2, 300.0)
    text = _scrape(e)
    assert _samples(text) == _samples(_reference(s, sources))
    assert _status(text, V) == "down"
    _radios(s, "ap1", 1, 360.0)
    _ping(s, "ap2", 5, 361.0)
    # A failing service probe of W's router: impaired, W degraded.
    probe = ProbeResult("portal", "http", False, reason="status", http_status=502)
    s.record(ServiceObservation("r2", 400.0, 0.02, [probe]))
    text = _scrape(e)
    assert _samples(text) == _samples(_reference(s, sources))
    assert (_status(text, V), _status(text, W)) == ("up", "degraded")
    # A reload that moves ap3 from W to V: every village asked again, from the new inventory.
    inv = s.inventory
    ap3 = dataclasses.replace(inv.devices["ap3"], village=V)
    villages = {V: dataclasses.replace(inv.villages[V], devices=("r", "ap1", "ap2", "ap3")),
                W: dataclasses.replace(inv.villages[W], devices=("r2",))}  # fmt: skip
    s.replace_inventory(
        dataclasses.replace(inv, devices={**inv.devices, "ap3": ap3}, villages=villages)
    )
    _ping(s, "ap3", 0, 500.0)
    text = _scrape(e)
    assert _samples(text) == _samples(_reference(s, sources))
    assert (_status(text, V), _status(text, W)) == ("degraded", "degraded")


def test_a_verdict_that_moves_and_comes_back_during_a_render_is_followed(monkeypatch) -> None:
    """The verdicts a refresh compares with are the ones the rollup read, not the ones the
    refresh sampled: an AP's radio that goes down before a render and up again between its
    refresh and its rollup (the render gives the loop turns) leaves V up; down again before the
    next render, V must go down though the AP's verdict is the same object as at the refresh
    before (SNMP's verdicts are constants)."""
    s = _state()
    sources = [inventory_families, *registered()]
    e = Exposition(s, sources)
    for t, name in enumerate(("r", "ap1", "r2", "ap3")):
        _ping(s, name, 5, 100.0 + t)
    _ping(s, "ap2", 0, 100.0)  # V's Wi-Fi is ap1's alone
    _radios(s, "ap1", 1, 110.0)
    assert _status(e.render().decode(), V) == "degraded"

    between: list[int] = []  # radio status to record between the refresh and the rollup
    refresh = type(inventory_families).refresh

    def late(self, ctx):
        while between:
            _radios(s, "ap1", between.pop(0), 150.0)
        return refresh(self, ctx)

    monkeypatch.setattr(type(inventory_families), "refresh", late)
    _radios(s, "ap1", 2, 140.0)  # down before the render...
    between.append(1)  # ...and up again between its refresh and its rollup
    assert _status(e.render().decode(), V) == "degraded"  # (its columns: the sampled poll)
    _radios(s, "ap1", 2, 170.0)  # down again: V serves no Wi-Fi
    text = e.render().decode()
    assert _samples(text) == _samples(_reference(s, sources))
    assert _status(text, V) == "down"


def test_without_every_collector_watched_every_village_is_asked_at_each_scrape(
    monkeypatch,
) -> None:
    s = _state()
    sources = [inventory_families, ICMP]  # SNMP and service verdicts unwatched: none kept
    e = Exposition(s, sources)
    for t, name in enumerate(("r", "ap1", "ap2", "r2", "ap3")):
        _ping(s, name, 5, 100.0 + t)
    _scrape(e)
    asked: list[str] = []
    status_of = s.village_status
    monkeypatch.setattr(s, "village_status", lambda code: asked.append(code) or status_of(code))
    _radios(s, "ap3", 2, 300.0)  # no ICMP column moves, W's status does: W down
    text = e.render().decode()
    assert sorted(asked) == [V, W]
    assert _status(text, W) == "down"


def test_a_device_sampled_again_with_other_families_is_written_as_client_python_does():
    s = _state()
    e = Exposition(s, [ICMP])
    _ping(s, "r", 5, 100.0)
    _ping(s, "ap1", 5, 100.0)
    first = _scrape(e)
    assert 'netwatch_ping_rtt_min_seconds{device="r"' in first
    _ping(s, "r", 0, 130.0)  # every echo lost: the RTT families leave r's lines
    second = _scrape(e)
    assert _samples(second) == _samples(_reference(s, [ICMP]))
    assert 'netwatch_ping_rtt_min_seconds{device="r"' not in second
    _ping(s, "r", 5, 160.0)
    _ping(s, "ap1", 5, 160.0)  # the same families as before, new values
    third = _scrape(e)
    assert _samples(third) == _samples(_reference(s, [ICMP]))
    assert third != first


@pytest.fixture
def odd_plugin():
    """A collector whose every sampling has the same two unlabelled families (state set by hand)."""
    fam = Family("netwatch_test_odd", Kind.GAUGE, "An odd value.")
    other = Family("netwatch_test_even", Kind.GAUGE, "An even value.")

    @dataclasses.dataclass
    class Part:
        value: float = 0.0
        version: int = 0

        def verdict(self, device: Device) -> None:
            return None

    def samples(device: Device, part: Part, view: View):
        return [(fam, part.value, (), None), (other, 2.0, (), None)]

    plugin = Plugin("odd", object, Part, lambda p, o: None, samples, (fam, other), None)  # type: ignore[arg-type]
    return plugin, Part


def test_a_value_that_turns_nan_or_infinite_at_a_later_sampling_is_written_so(odd_plugin) -> None:
    plugin, part_type = odd_plugin
    s = _state()
    part = s.devices["r"].parts["odd"] = part_type(1.5, 1)
    e = Exposition(s, [plugin])
    assert "netwatch_test_odd{" in _scrape(e)
    for value, written in ((2.5, "2.5"), (math.nan, "NaN"), (math.inf, "+Inf"), (3.0, "3.0")):
        part.value, part.version = value, part.version + 1
        text = _scrape(e)
        line = next(x for x in text.splitlines() if x.startswith("netwatch_test_odd{"))
        assert line.endswith(" " + written), line
        ref = {(n, lab) for n, lab, _ in _samples(_ref_of(s, plugin))}
        assert {(n, lab) for n, lab, _ in _samples(text)} == ref


def _ref_of(s: State, plugin) -> str:
    class Source:
        def collect(self):
            return metric_families(s, plugin)

    reg = CollectorRegistry(auto_describe=False)
    reg.register(Source())
    return generate_latest(reg).decode()


def _snmp(name: str, t: float, ifaces: list[tuple[int, str]]) -> SnmpObservation:
    """A poll of name with these (index, name) interfaces, counters moved with t."""
    return SnmpObservation(
        name,
        t,
        uptime_ticks=int(t * 100),
        interfaces=[
            SnmpInterface(i, n, if_type=6, oper_status=1, admin_status=1, speed_bps=1e9,
                          in_octets=int(t) * 1000 + i, out_octets=int(t) * 7 + i, in_errors=i)
            for i, n in ifaces
        ],
        cpu_load_ratio=0.25,
    )  # fmt: skip


def test_an_snmp_device_polled_again_follows_its_interfaces_values_names_and_count() -> None:
    from netwatch.collectors.snmp import PLUGIN as SNMP

    s = _state()
    e = Exposition(s, [SNMP])
    steps = [
        [(1, "ether1"), (2, "wlan0")],
        [(1, "ether1"), (2, "wlan0")],  # the same rows: new counters only
        [(1, "ether1"), (2, "wlan1")],  # a renamed interface: another row
        [(1, "ether1"), (3, "wlan1")],  # the same names, another ifindex (an info label)
        [(1, "ether1")],  # one interface gone
        [(1, "ether1"), (2, "wlan0")],  # and back
        [(1, "ether1"), (2, "wlan0")],
    ]
    for k, ifaces in enumerate(steps):
        s.record(_snmp("r", 100.0 + 60 * k, ifaces))
        s.record(_snmp("ap1", 100.0 + 60 * k, [(1, "ether1")]))
        text = _scrape(e)
        assert _samples(text) == _samples(_ref_of(s, SNMP)), k
        for index, name in ifaces:  # r's counter as polled, on its row
            line = (f'netwatch_snmp_interface_receive_bytes_total{{device="r",role="router",'
                    f'village="{V}",district="35.10.07",interface="{name}"}} ')  # fmt: skip
            assert line + f"{float((100 + 60 * k) * 1000 + index)!r}\n" in text


def test_icmp_columns_from_state_values_follow_every_shape_as_the_samples_path() -> None:
    """ICMP devices sampled through the plugin's state_values (values stored by shape) are
    written byte for byte as through samples() and as client_python writes them, while a
    device's families change (replies lost, one reply, back) and a value turns infinite."""
    s = _state()
    fast = Exposition(s, [ICMP])
    generic = Exposition(s, [dataclasses.replace(ICMP, state_values=None)])
    steps: list[tuple[str, int, float]] = [
        ("r", 5, 100.0), ("ap1", 5, 100.0), ("ap2", 3, 100.0),
        ("r", 5, 130.0),  # the same families, new values: stored by shape
        ("r", 0, 160.0),  # every echo lost: the RTT families leave r's lines
        ("r", 1, 190.0),  # one reply: min, avg, max, no jitter
        ("r", 5, 220.0), ("ap1", 5, math.inf),  # a timestamp that is not finite
        ("ap1", 5, 250.0), ("ap2", 5, 250.0),
    ]  # fmt: skip
    for name, received, t in steps:
        if math.isfinite(t):
            _ping(s, name, received, t)
        else:  # (finite RTTs: _ping's move with t)
            s.record(PingObservation(name, t, PingResult("x", 5, received, [0.002] * received)))
        text = _scrape(fast)
        assert text == _scrape(generic)
        assert _samples(text) == _samples(_reference(s, [ICMP]))
    assert "netwatch_ping_last_round_timestamp_seconds{" in text
    assert 'netwatch_ping_jitter_seconds{device="r"' in text
