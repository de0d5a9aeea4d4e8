"""The ICMP collector's observation: one round of echo requests to one device."""

from __future__ import annotations

from dataclasses import dataclass, field


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
        return 1.0 if self.sent == 0 else 1.0 - self.received / self.sent

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
        if len(self.rtts) < 2:
            return None
        diffs = [abs(b - a) for a, b in zip(self.rtts, self.rtts[1:], strict=False)]
        return sum(diffs) / len(diffs)


@dataclass(slots=True)
class PingObservation:
    device: str
    time: float  # unix seconds at the start of the round
    result: PingResult
    duration: float = 0.0  # seconds the round took
