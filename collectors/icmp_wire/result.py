"""A round's figures from its RTTs: shared by PingResult (the collector) and `netwatch ping`'s
columns, which build no PingResult (dataclasses alone cost the CLI ~5–15 ms of start-up)."""

from __future__ import annotations

from itertools import pairwise


def loss_ratio(sent: int, received: int) -> float:
    return 1.0 if sent == 0 else 1.0 - received / sent


def jitter(rtts: list[float]) -> float | None:
    """Mean absolute difference of consecutive RTTs (RFC 3393 IPDV magnitude, as mtr)."""
    if len(rtts) < 2:
        return None
    diffs = [abs(b - a) for a, b in pairwise(rtts)]
    return sum(diffs) / len(diffs)
