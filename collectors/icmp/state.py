"""A device's ICMP state: its last round, up/down with reason and since, echo totals."""

from __future__ import annotations

from dataclasses import dataclass

from netwatch.collectors.icmp.observation import PingObservation
from netwatch.core.model import Device
from netwatch.core.plugins import Health, Verdict


@dataclass(slots=True)
class IcmpDeviceState:
    last: PingObservation | None = None
    up: bool | None = None  # None until the first round
    reason: str = ""  # why it is down ("no reply", "unresolvable: ...")
    since: float = 0.0  # unix time of the last up/down change
    echo_sent_total: int = 0
    echo_received_total: int = 0
    version: int = 0
    _verdict: Verdict | None = None  # made once per round: the rollup asks often

    def verdict(self, device: Device) -> Verdict | None:
        return self._verdict


def record(st: IcmpDeviceState, obs: PingObservation) -> None:
    """Apply one round: a round with an error or without a reply is down."""
    res = obs.result
    st.last = obs
    st.echo_sent_total += res.sent
    st.echo_received_total += res.received
    if res.error:
        up, reason = False, res.error
    elif res.received == 0:
        up, reason = False, "no reply"
    else:
        up, reason = True, ""
    if up != st.up:
        st.since = obs.time
    elif reason == st.reason and st._verdict is not None:
        return  # the same verdict as the last round's: keep the object
    st.up, st.reason = up, reason
    st._verdict = Verdict(Health.OK if up else Health.DOWN, reason, st.since, reachability=True)
