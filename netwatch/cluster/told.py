"""The send gate of a cluster with etcd: the sender lease, and a log of what was told.

Every replica enqueues the same news in its own outbox; only the lease holder sends. For each
(receiver, alert) etcd keeps the latest news told, by whom and when, like Alertmanager's
notification log: `PREFIX/told/<receiver hash>/<fingerprint>` → {state, level, at, by, phase}.

- A row whose news a peer already told (its record is newer than the row, or within the peer
  lag of it with the same state and level) is TOLD: marked done without a send. This is how a
  follower's rows end, and how a new sender skips what the old one sent.
- The sender writes its record as "sending" in one transaction that also checks that it holds
  the sender key with its lease (the fence), sends, then marks it "sent".
- A record left "sending" by a peer is waited for while that peer's send may still run
  (lease TTL + send timeout); after that the news counts as untold and the sender sends it:
  a replica that died or lost etcd between its send and the "sent" mark is the one case in
  which a receiver may hear the same news twice. Nothing is ever dropped for it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING

from netwatch.alerting.gate import Action, Decision, News
from netwatch.cluster.etcd import Etcd, EtcdError, lease_is, mod_is, put, value_is
from netwatch.cluster.member import Member
from netwatch.cluster.sender import SenderLease
from netwatch.core.health import Health
from netwatch.core.model import EtcdSettings, Inventory

if TYPE_CHECKING:
    from netwatch.alerting.outbox import Outbox

MIN_SEND = 1.0  # seconds of lease a send needs at least
RETAIN = 7 * 86400.0  # seconds a record lives in etcd (a retention lease, renewed hourly)
RETENTION_ROTATE = 3600.0
SLACK = 2.0  # seconds: wall clocks of two machines (NTP) and a request in flight


@dataclass(frozen=True, slots=True)
class Record:
    state: str  # "firing" | "resolved"
    level: int
    at: float  # wall-clock time the sender claimed it
    by: str  # the replica, "1-a"
    phase: str  # "sending" | "sent"

    def text(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def parse(cls, raw: bytes) -> Record | None:
        try:
            data = json.loads(raw)
            return cls(
                str(data["state"]),
                int(data["level"]),
                float(data["at"]),
                str(data["by"]),
                str(data["phase"]),
            )
        except (ValueError, KeyError, TypeError):
            return None  # a foreign or damaged record: treated as none (the news is sent)


@dataclass(frozen=True, slots=True)
class Claim:
    """What Gate.sent needs to mark a claimed record as sent."""

    key: str
    revision: int
    record: Record
    retention: int


def told_key(prefix: str, news: News) -> str:
    receiver = hashlib.sha256(news.receiver.encode()).hexdigest()[:16]
    return f"{prefix}/told/{receiver}/{news.fingerprint}"


class ToldLog:
    """The outbox's gate (netwatch.alerting.gate.Gate) for direct notifiers."""

    def __init__(
        self,
        etcd: Etcd,
        lease: SenderLease,
        settings: EtcdSettings,
        lag: float,
        send_timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.etcd = etcd
        self.lease = lease
        self.settings = settings
        self.me = lease.me
        self.lag = lag
        self.stale = settings.lease_ttl + send_timeout + SLACK
        self.hold_for = max(1.0, settings.lease_ttl / 3)
        self._clock = clock
        self._retention = (0, 0.0)  # lease id, when granted

    def told(self, rec: Record | None, news: News) -> bool:
        """Whether a peer's record already tells the receiver this news (or newer)."""
        if rec is None or rec.by == self.me or rec.phase != "sent":
            return False
        if rec.at > news.created_at:
            return True  # told after this replica decided it: the same news, or newer
        return (
            rec.at >= news.created_at - self.lag
            and rec.state == news.state
            and rec.level >= news.level
        )

    async def claim(self, news: News, newest: News | None) -> Decision:
        key = told_key(self.settings.prefix, news)
        try:
            kv = await self.etcd.get(key)
        except EtcdError as exc:
            return Decision(Action.HOLD, f"etcd unreachable: {exc}")
        rec = Record.parse(kv.value) if kv is not None else None
        now = self._clock()
        sending = rec is not None and rec.by != self.me and rec.phase == "sending"
        if sending and rec is not None and now - rec.at < self.stale:
            return Decision(Action.HOLD, f"replica {rec.by} is sending it")
        for n in (news, newest):
            if n is not None and self.told(rec, n):
                assert rec is not None
                return Decision(Action.TOLD, f"told by replica {rec.by} (etcd)")
        if self.lease.remaining() < MIN_SEND:
            return Decision(Action.HOLD, self._not_sender())
        record = Record(news.state, news.level, now, self.me, "sending")
        try:
            retention = await self._retention_lease(now)
            r = await self.etcd.txn(
                [
                    value_is(self.lease.key, self.me),
                    lease_is(self.lease.key, self.lease.lease),
                    mod_is(key, kv.mod_revision if kv is not None else 0),
                ],
                [put(key, record.text(), retention)],
            )
        except EtcdError as exc:
            return Decision(Action.HOLD, f"etcd unreachable: {exc}")
        if not r.succeeded:
            return Decision(Action.HOLD, "the sender lease or the record changed meanwhile")
        left = self.lease.remaining()
        if left < MIN_SEND:  # the claim stays "sending" by us: a peer sends it once stale
            return Decision(Action.HOLD, self._not_sender())
        return Decision(Action.SEND, "", left, Claim(key, r.revision, record, retention))

    async def sent(self, token: object) -> None:
        if not isinstance(token, Claim):
            raise TypeError(f"not a claim of this gate: {token!r}")
        done = replace(token.record, phase="sent")
        await self.etcd.txn(
            [mod_is(token.key, token.revision)], [put(token.key, done.text(), token.retention)]
        )

    def _not_sender(self) -> str:
        if not self.lease.reachable:
            return "etcd unreachable: this replica cannot be the sender"
        holder = self.lease.holder
        if holder and holder != self.me:
            return f"replica {holder} is the sender"
        return "no replica holds the sender lease yet"

    async def _retention_lease(self, now: float) -> int:
        lease, granted = self._retention
        if not lease or now - granted > RETENTION_ROTATE:
            lease, _ = await self.etcd.grant(RETAIN + RETENTION_ROTATE)
            self._retention = (lease, now)
        return lease


def sender_gate(
    inventory: Inventory, member: Member, health: Health, outbox: Outbox
) -> tuple[SenderLease, Callable[[], Awaitable[None]]]:
    """Gate outbox's direct notifiers with this replica's sender lease and the told log.
    Returns the lease (run its `run()`) and what a clean stop calls (give the lease up)."""
    from netwatch.cluster.timing import peer_lag

    settings = inventory.settings
    etcd_settings = settings.cluster.etcd
    assert etcd_settings is not None, "a cluster without settings.cluster.etcd has no gate"
    etcd = Etcd(etcd_settings)
    lease = SenderLease(etcd, etcd_settings, member.shard or 0, member.label(), health)
    timeout = settings.notifications.delivery.timeout
    outbox.gate = ToldLog(etcd, lease, etcd_settings, peer_lag(inventory), timeout)
    health.fail("etcd", "connecting to etcd (the sender lease)")

    async def resign() -> None:
        await lease.resign()
        await etcd.close()

    return lease, resign


def etcd_change(running: Inventory, new: Inventory) -> str | None:
    """Why a reload must be refused: the sender lease (or its absence, where a reload would
    add direct targets to a cluster) keeps the etcd settings the process started with."""
    if new.settings.cluster.etcd == running.settings.cluster.etcd:
        return None
    return (
        "settings.cluster.etcd changed: restart each instance to apply it (the sender lease "
        "and the told log keep the settings the process started with)"
    )
