"""A device's ICMP state: its last round, the echo stream's verdict and since, echo totals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from netwatch.collectors.icmp.observation import PingObservation
from netwatch.core.plugins import Health, Verdict

if TYPE_CHECKING:
    from netwatch.core.model import Device


@dataclass(slots=True)
class IcmpDeviceState:
    last: PingObservation | None = None  # the last observation that carried a round
    up: bool | None = None  # None until the stream has decided
    reason: str = ""  # why it is down ("no reply", "unresolvable: ...")
    since: float = 0.0  # unix time of the last up/down change (down: its first lost echo)
    echo_sent_total: int = 0
    echo_received_total: int = 0
    point: bool = False  # the latest observation carried a round (a point to write)
    version: int = 0
    _verdict: Verdict | None = None  # made once per change: the rollup asks often

    def verdict(self, device: Device) -> Verdict | None:
        return self._verdict


def record(st: IcmpDeviceState, obs: PingObservation) -> None:
    """Apply one observation: a round's figures, and the verdict it carries."""
    res = obs.result
    st.point = res is not None
    if res is not None:
        st.last = obs
        st.echo_sent_total += res.sent
        st.echo_received_total += res.received
    up = obs.up
    if up is None and obs.seen_at is None and res is not None:
        # A lone round (probe(), a test), not the stream's: judged by itself.
        up = res.error is None and res.received > 0
    if up is None:
        return
    reason = "" if up else (obs.reason or (res.error if res else None) or "no reply")
    if up != st.up:
        st.since = obs.fail_since if not up and obs.fail_since is not None else obs.time
    elif reason == st.reason and st._verdict is not None:
        return  # the same verdict as before: keep the object
    st.up, st.reason = up, reason
    st._verdict = Verdict(Health.OK if up else Health.DOWN, reason, st.since, reachability=True)
