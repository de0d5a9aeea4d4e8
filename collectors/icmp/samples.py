"""ICMP families and samples: device up, round figures for a scrape, a point per round.

A round is the echoes whose outcome came in during one `ping.interval` of the device's echo
stream (or until its verdict changed): 5 steady echoes at the defaults, plus any burst echoes.
"""

from __future__ import annotations

from operator import sub
from typing import TYPE_CHECKING

from netwatch.collectors.icmp.state import IcmpDeviceState
from netwatch.core.samples import Family, Field, Kind, Measurement, Sample, View

if TYPE_CHECKING:
    from netwatch.core.model import Device

# Ping points keep their historic spelling: fields in round order, whole floats as 1.0.
PING = Measurement("netwatch_ping", sorted_fields=False, keep_point_zero=True)
G, C = Kind.GAUGE, Kind.COUNTER

UP = Family(
    "netwatch_device_up",
    G,
    "1 while the device answers (down after ping.down_echoes echoes lost in a row).",
    field=Field(PING, "up", integer=True),
)
SINCE = Family(
    "netwatch_device_status_change_timestamp_seconds",
    G,
    "When the device last went up or down.",
    "seconds",
)
RTT_MIN = Family(
    "netwatch_ping_rtt_min_seconds",
    G,
    "Fastest echo reply of the last round.",
    "seconds",
    field=Field(PING, "rtt_min_seconds"),
)
RTT_AVG = Family(
    "netwatch_ping_rtt_avg_seconds",
    G,
    "Mean echo round-trip time of the last round.",
    "seconds",
    field=Field(PING, "rtt_avg_seconds"),
)
RTT_MAX = Family(
    "netwatch_ping_rtt_max_seconds",
    G,
    "Slowest echo reply of the last round.",
    "seconds",
    field=Field(PING, "rtt_max_seconds"),
)
JITTER = Family(
    "netwatch_ping_jitter_seconds",
    G,
    "Mean absolute difference of consecutive RTTs in the last round.",
    "seconds",
    field=Field(PING, "jitter_seconds"),
)
LOSS = Family(
    "netwatch_ping_loss_ratio",
    G,
    "Share of echo requests of the last round left unanswered.",
    "ratio",
    field=Field(PING, "loss_ratio"),
)
SENT_TOTAL = Family("netwatch_ping_echo_requests", C, "ICMP echo requests sent.")
RECEIVED_TOTAL = Family("netwatch_ping_echo_replies", C, "ICMP echo replies received in time.")
LAST = Family(
    "netwatch_ping_last_round_timestamp_seconds",
    G,
    "Start of the last completed ping round.",
    "seconds",
)
# Per-round figures only a point carries (a scrape has the running totals above instead).
ROUND_SENT = Family(
    "netwatch_ping_round_echo_requests",
    G,
    "Echo requests sent in the round.",
    field=Field(PING, "sent", integer=True),
)
ROUND_RECEIVED = Family(
    "netwatch_ping_round_echo_replies",
    G,
    "Echo replies received in time in the round.",
    field=Field(PING, "received", integer=True),
)
ROUND_DURATION = Family(
    "netwatch_ping_round_duration_seconds",
    G,
    "Time the round took.",
    "seconds",
    field=Field(PING, "duration_seconds"),
)

FAMILIES = (UP, SINCE, RTT_MIN, RTT_AVG, RTT_MAX, JITTER, LOSS, SENT_TOTAL, RECEIVED_TOTAL, LAST)


def samples(device: Device, st: IcmpDeviceState, view: View) -> list[Sample]:
    """STATE: up, since and the last round's figures; EVENT: the ping point of the round."""
    obs = st.last
    if view is View.EVENT:
        if obs is None or not st.point:
            return []  # the observation changed the stream's state only: no point
        res, t = obs.result, obs.time
        if res is None:
            return []
        out: list[Sample] = [
            (ROUND_SENT, res.sent, (), t),
            (ROUND_RECEIVED, res.received, (), t),
            (UP, 1 if st.up else 0, (), t),
            (LOSS, res.loss_ratio, (), t),
            (ROUND_DURATION, obs.duration, (), t),
        ]
        rtts = res.rtts
        if rtts:
            out += [
                (RTT_MIN, min(rtts), (), t),
                (RTT_AVG, sum(rtts) / len(rtts), (), t),
                (RTT_MAX, max(rtts), (), t),
            ]
            if (j := res.jitter) is not None:
                out.append((JITTER, j, (), t))
        return out
    if st.up is None:
        return []
    out = [(UP, 1.0 if st.up else 0.0, (), None), (SINCE, st.since, (), None)]
    if obs is None or obs.result is None:
        return out
    res = obs.result
    out += [
        (SENT_TOTAL, st.echo_sent_total, (), None),
        (RECEIVED_TOTAL, st.echo_received_total, (), None),
        (LOSS, res.loss_ratio, (), None),
        (LAST, obs.time, (), None),
    ]
    rtts = res.rtts
    if rtts:
        out += [
            (RTT_MIN, min(rtts), (), None),
            (RTT_AVG, sum(rtts) / len(rtts), (), None),
            (RTT_MAX, max(rtts), (), None),
        ]
    if (j := res.jitter) is not None:
        out.append((JITTER, j, (), None))
    return out


# The STATE samples as one tuple of families and one of values, for the exporter's columns
# (issue 10: after a round, a scrape samples every device again; Sample tuples and a lookup
# per value cost ~2 µs a device there). Each case's families are one constant tuple, so the
# exporter knows a device's shape by identity; the values are those samples(STATE) gives.
_NONE: tuple[Family, ...] = ()
_BARE = (UP, SINCE)
_NO_RTT = (UP, SINCE, SENT_TOTAL, RECEIVED_TOTAL, LOSS, LAST)
_ONE_RTT = (*_NO_RTT, RTT_MIN, RTT_AVG, RTT_MAX)
_ROUND = (*_ONE_RTT, JITTER)


def state_values(
    device: Device, st: IcmpDeviceState
) -> tuple[tuple[Family, ...], tuple[float, ...]]:
    """samples(device, st, View.STATE) as (families, values)."""
    up = st.up
    if up is None:
        return _NONE, ()
    obs = st.last
    res = None if obs is None else obs.result
    if obs is None or res is None:
        return _BARE, (1.0 if up else 0.0, st.since)
    sent = res.sent
    loss = 1.0 if sent == 0 else 1.0 - res.received / sent  # result.loss_ratio
    rtts = res.rtts
    n = len(rtts)
    if n > 1:  # a round as the echo stream makes them: one tuple built at once
        # result.jitter: the mean of |b - a| over consecutive pairs, summed in the same order
        jitter = sum(map(abs, map(sub, rtts[1:], rtts))) / (n - 1)
        return _ROUND, (1.0 if up else 0.0, st.since, st.echo_sent_total,
                        st.echo_received_total, loss, obs.time, min(rtts), sum(rtts) / n,
                        max(rtts), jitter)  # fmt: skip
    head = (1.0 if up else 0.0, st.since, st.echo_sent_total, st.echo_received_total, loss,
            obs.time)  # fmt: skip
    if not n:
        return _NO_RTT, head
    return _ONE_RTT, (*head, rtts[0], sum(rtts) / 1, rtts[0])
