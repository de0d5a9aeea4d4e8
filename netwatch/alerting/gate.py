"""The send gate: in a cluster, who may send a direct notification, and whether a peer did.

Two replicas of a shard enqueue the same news in their own outboxes. Alertmanager merges
what both post; a Telegram chat or a mailbox does not, so for those notifiers the outbox asks
a gate before every send (netwatch/cluster/told.py: a lease and a log of what was told, in
etcd). The gate answers SEND (this replica holds the lease; the send must end within
`timeout`), TOLD (a peer already told this receiver this news: the row is done) or HOLD (not
the sender now: keep the row pending and ask again after `hold_for`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from netwatch.alerting.types import Event, Notification


class Action(enum.Enum):
    SEND = "send"
    TOLD = "told"
    HOLD = "hold"


@dataclass(frozen=True, slots=True)
class News:
    """What one outbox row tells one receiver about one alert."""

    receiver: str  # the stored receiver (its key)
    fingerprint: str
    state: str  # "firing" or "resolved"
    level: int  # escalation level
    created_at: float  # when this replica's engine decided it

    @classmethod
    def of(cls, receiver: str, n: Notification) -> News:
        state = "resolved" if n.closes else "firing"
        level = 1 if n.event is Event.ESCALATION else n.escalation_level
        return cls(receiver, n.alert.fingerprint, state, level, n.created_at)


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    note: str  # why: stored with the row (last_error or the delivered note)
    timeout: float | None = None  # SEND: the send must be over within this many seconds
    token: object = None  # SEND: handed back to Gate.sent


class Gate(Protocol):
    hold_for: float  # seconds before a held row is asked about again

    async def claim(self, news: News, newest: News | None) -> Decision:
        """May this replica send news now? newest: a later pending row of the same stream."""
        ...

    async def sent(self, token: object) -> None:
        """The send claimed with token succeeded: record it as told."""
        ...
