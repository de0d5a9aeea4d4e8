"""The ICMP collector's observation: a round of one device's echoes, or a change in its stream."""

from __future__ import annotations

from dataclasses import dataclass, field

from netwatch.collectors.icmp_wire import result


@dataclass(slots=True)
class PingResult:
    """One round of echo requests to one address.

    rtts holds the round-trip time in seconds of each reply, in sequence order; a lost echo
    has no entry. error is set when nothing could be sent (unresolvable name, no route,
    permission): such a round counts as sent=0 and the device is down with that reason.
    """

    address: str
    sent: int = 0
    received: int = 0
    rtts: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def loss_ratio(self) -> float:
        return result.loss_ratio(self.sent, self.received)

    @property
    def rtt_min(self) -> float | None:
        return min(self.rtts) if self.rtts else None

    @property
    def rtt_max(self) -> float | None:
        return max(self.rtts) if self.rtts else None

    @property
    def rtt_avg(self) -> float | None:
        return sum(self.rtts) / len(self.rtts) if self.rtts else None

    @property
    def jitter(self) -> float | None:
        """Mean absolute difference of consecutive RTTs (RFC 3393 IPDV magnitude, as mtr)."""
        return result.jitter(self.rtts)


# Why the echo stream reports (collectors/icmp/stream.py); "round" and the verdicts carry the
# echoes whose outcome came in since the last report, the others only the stream's state.
ROUND = "round"  # every ping.interval: the round's figures
UP = "up"  # the verdict turned up (up_echoes replies)
DOWN = "down"  # the verdict turned down (down_echoes echoes lost in a row)
LOST = "lost"  # an answering device lost an echo: a run of losses begins
LOSING = "losing"  # half of down_echoes lost in a row: a verdict may follow (trace now)
ANSWERED = "answered"  # a run of losses ended by a reply, or an awaited echo came back


@dataclass(slots=True)
class PingObservation:
    device: str
    time: float  # unix seconds: the start of the round, or when the change happened
    result: PingResult | None  # the round's echoes; None when only the stream's state changed
    duration: float = 0.0  # seconds the round covered
    event: str = ROUND
    up: bool | None = None  # the verdict after this (None: not decided yet)
    reason: str = ""  # why it is down ("no reply", "send failed: ...")
    failing: bool = False  # the newest echo outcome is a loss, in a run of losses
    fail_since: float | None = None  # send time of that run's first lost echo (unix seconds)
    seen_at: float | None = None  # send time of the newest echo whose outcome is known
