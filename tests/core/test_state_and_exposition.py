"""Village rollup rules (foundation issue, item 6) and the /metrics exposition of state."""

from __future__ import annotations

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.core.model import Role
from netwatch.core.state import State, VillageStatus
from netwatch.exporters.prometheus import build_registry
from tests.core.inventories import make_inventory

V = "35.10.07.2001"


def _state() -> State:
    return State(
        make_inventory(
            {
                V: [
                    ("r", Role.ROUTER, "127.0.7.1"),
                    ("ap1", Role.AP, "127.0.7.2"),
                    ("ap2", Role.AP, "127.0.7.3"),
                ]
            }
        )
    )


def _round(state: State, device: str, rtts: list[float], sent: int = 5, t: float = 1000.0) -> None:
    res = PingResult(
        address=state.devices[device].device.address, sent=sent, received=len(rtts), rtts=rtts
    )
    state.record(PingObservation(device=device, time=t, result=res))


def test_rollup_follows_the_rule() -> None:
    s = _state()
    assert s.village_status(V) is VillageStatus.UNKNOWN
    for d in ("r", "ap1", "ap2"):
        _round(s, d, [0.001] * 5)
    assert s.village_status(V) is VillageStatus.UP
    _round(s, "ap2", [])
    assert s.village_status(V) is VillageStatus.DEGRADED
    _round(s, "ap1", [])
    assert s.village_status(V) is VillageStatus.DOWN  # router answers, no AP does
    _round(s, "ap1", [0.001])
    _round(s, "ap2", [0.001])
    _round(s, "r", [])
    assert s.village_status(V) is VillageStatus.DOWN  # router down
    assert s.devices["r"].reason == "no reply"


def test_error_round_is_down_with_its_reason() -> None:
    s = _state()
    res = PingResult(address="no-such-host", error="unresolvable: no-such-host")
    s.record(PingObservation(device="r", time=5.0, result=res))
    assert s.devices["r"].up is False
    assert s.devices["r"].reason == "unresolvable: no-such-host"


def test_exposition_carries_the_recorded_values() -> None:
    s = _state()
    _round(s, "r", [0.010, 0.030, 0.020], sent=4)
    _round(s, "ap1", [0.002] * 5)
    _round(s, "ap2", [])
    text = generate_latest(build_registry(s)).decode()
    samples = [s for f in text_string_to_metric_families(text) for s in f.samples]

    def value(name: str, **labels: str) -> float:
        for sample in samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
        raise AssertionError(f"{name}{labels} not exposed")

    assert (
        value("netwatch_device_up", device="r", village=V, district="35.10.07", role="router") == 1
    )
    assert value("netwatch_device_up", device="ap2") == 0
    assert value("netwatch_ping_rtt_min_seconds", device="r") == 0.010
    assert value("netwatch_ping_rtt_max_seconds", device="r") == 0.030
    assert abs(value("netwatch_ping_rtt_avg_seconds", device="r") - 0.020) < 1e-12
    assert abs(value("netwatch_ping_jitter_seconds", device="r") - 0.015) < 1e-12  # (20+10)/2 ms
    assert value("netwatch_ping_loss_ratio", device="r") == 0.25
    assert value("netwatch_ping_echo_requests_total", device="r") == 4
    assert value("netwatch_ping_echo_replies_total", device="r") == 3
    assert value("netwatch_village_status", village=V, status="degraded") == 1
    assert value("netwatch_village_status", village=V, status="up") == 0
    assert value("netwatch_village_wifi_up", village=V) == 1
    assert (
        value("netwatch_village_info", village=V, district_name="Gambiran", latitude="-8.300000")
        == 1
    )
    assert value("netwatch_build_info") == 1


def test_fast_text_encoder_matches_client_python() -> None:
    """render_text must say exactly what client_python's generate_latest says."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    from netwatch.exporters.prometheus import StateCollector, render_text

    s = _state()
    _round(s, "r", [0.010, 0.030, 0.020], sent=4)
    _round(s, "ap1", [])
    tricky = GaugeMetricFamily("netwatch_tricky", "help with \\ and\nnewline", labels=["v"])
    for v in ['a"b', "back\\slash", "new\nline", "Kalibaru Wétan", ""]:
        tricky.add_metric([v], 1.5)
    tricky.add_metric(["inf"], float("inf"))
    tricky.add_metric(["big"], 1e22)
    tricky.add_metric(["tiny"], 1e-7)
    count = CounterMetricFamily("netwatch_things", "Things.", labels=["k"])
    count.add_metric(["x"], 3)
    families = [*StateCollector(s).collect(), tricky, count]

    class Fixed:
        def collect(self):
            return families

    from prometheus_client.registry import CollectorRegistry

    reg = CollectorRegistry(auto_describe=False)
    reg.register(Fixed())
    ours = list(text_string_to_metric_families(render_text(families).decode()))
    theirs = list(text_string_to_metric_families(generate_latest(reg).decode()))
    assert [(f.name, f.type, f.documentation) for f in ours] == [
        (f.name, f.type, f.documentation) for f in theirs
    ]
    assert [f.samples for f in ours] == [f.samples for f in theirs]
