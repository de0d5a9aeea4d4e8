"""The ICMP collector's STATE samples as (families, values), the exporter's fast path: the same
families and values as samples(STATE), figures checked against arithmetic done here by hand."""

from __future__ import annotations

import pytest

from netwatch.collectors.icmp import PLUGIN as ICMP
from netwatch.collectors.icmp import samples as icmp
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.collectors.icmp.state import IcmpDeviceState, record
from netwatch.core.model import Device, Role
from netwatch.core.samples import View

DEVICE = Device(name="r1", role=Role.ROUTER, address="127.0.0.1", district="35.10.07")


def _state(*rounds: tuple[int, list[float]], t: float = 1_000.0) -> IcmpDeviceState:
    """A device's ICMP state after rounds of (sent, rtts), one a second from t."""
    st = IcmpDeviceState()
    for k, (sent, rtts) in enumerate(rounds):
        res = PingResult("127.0.0.1", sent, len(rtts), list(rtts))
        record(st, PingObservation("r1", t + k, res, 1.0))
    return st


def _by_name(families: tuple, values: tuple) -> dict[str, float]:
    assert len(families) == len(values)
    return {fam.name: float(v) for fam, v in zip(families, values, strict=True)}


def _from_samples(st: IcmpDeviceState) -> dict[str, float]:
    out = {}
    for fam, value, labels, t in icmp.samples(DEVICE, st, View.STATE):
        assert labels == () and t is None
        out[fam.name] = float(value)
    return out


def test_a_round_of_three_replies_of_five_by_hand() -> None:
    st = _state((5, [0.001, 0.004, 0.002]))
    families, values = icmp.state_values(DEVICE, st)
    got = _by_name(families, values)
    assert got == {
        "netwatch_device_up": 1.0,
        "netwatch_device_status_change_timestamp_seconds": 1_000.0,
        "netwatch_ping_echo_requests": 5.0,
        "netwatch_ping_echo_replies": 3.0,
        "netwatch_ping_loss_ratio": 1.0 - 3 / 5,
        "netwatch_ping_last_round_timestamp_seconds": 1_000.0,
        "netwatch_ping_rtt_min_seconds": 0.001,
        "netwatch_ping_rtt_avg_seconds": (0.001 + 0.004 + 0.002) / 3,
        "netwatch_ping_rtt_max_seconds": 0.004,
        # consecutive differences |0.004 - 0.001| and |0.002 - 0.004|, their mean
        "netwatch_ping_jitter_seconds": (abs(0.004 - 0.001) + abs(0.002 - 0.004)) / 2,
    }
    assert got == _from_samples(st)


def test_totals_add_up_over_rounds_and_the_last_rounds_figures_are_shown() -> None:
    st = _state((5, [0.01] * 5), (5, [0.02, 0.03]))
    got = _by_name(*icmp.state_values(DEVICE, st))
    assert got["netwatch_ping_echo_requests"] == 10.0
    assert got["netwatch_ping_echo_replies"] == 7.0
    assert got["netwatch_ping_last_round_timestamp_seconds"] == 1_001.0
    assert got["netwatch_ping_rtt_min_seconds"] == 0.02
    assert got["netwatch_ping_jitter_seconds"] == abs(0.03 - 0.02)
    assert got == _from_samples(st)


@pytest.mark.parametrize(
    ("rounds", "families"),
    [
        ((), 0),  # no verdict yet: nothing
        (((5, []),), 6),  # every echo lost: no RTT figures, no jitter
        (((0, []),), 6),  # nothing could be sent: loss 1.0
        (((5, [0.0034]),), 9),  # one reply: min = avg = max, no jitter
        (((5, [3e-7, 2.5e-7]),), 10),  # sub-microsecond RTTs
        (((5, [12.75, 0.0, 1e-9, 7.0, 3.0]),), 10),  # zero, large, tiny
    ],
)
def test_every_case_gives_the_families_and_values_samples_gives(rounds, families) -> None:
    st = _state(*rounds)
    fams, values = icmp.state_values(DEVICE, st)
    assert len(fams) == families
    assert _by_name(fams, values) == _from_samples(st)
    # the values are the same floats, bit for bit (repr is what a scrape writes)
    ref = {f.name: repr(float(v)) for f, v, _, _ in icmp.samples(DEVICE, st, View.STATE)}
    assert {f.name: repr(float(v)) for f, v in zip(fams, values, strict=True)} == ref


def test_a_verdict_without_a_round_gives_up_and_since_only() -> None:
    st = IcmpDeviceState()
    record(st, PingObservation("r1", 50.0, None, up=False, reason="no reply", event="down"))
    fams, values = icmp.state_values(DEVICE, st)
    assert _by_name(fams, values) == {
        "netwatch_device_up": 0.0,
        "netwatch_device_status_change_timestamp_seconds": 50.0,
    }
    assert _by_name(fams, values) == _from_samples(st)


def test_each_case_has_one_families_tuple_and_the_plugin_offers_it() -> None:
    """The exporter knows a device's shape by the tuple's identity."""
    a = icmp.state_values(DEVICE, _state((5, [0.001, 0.002])))[0]
    b = icmp.state_values(DEVICE, _state((5, [0.005, 0.009, 0.001])))[0]
    assert a is b
    assert ICMP.state_values is icmp.state_values


def test_jitter_is_the_collectors_own_to_the_bit() -> None:
    """The inline jitter sums the same differences in the same order as result.jitter."""
    rtts = [0.1 + k * 1e-7 + (k % 3) * 0.0123456789 for k in range(7)]
    st = _state((7, rtts))
    got = _by_name(*icmp.state_values(DEVICE, st))["netwatch_ping_jitter_seconds"]
    by_hand = sum(abs(rtts[k + 1] - rtts[k]) for k in range(6)) / 6
    assert got == by_hand
