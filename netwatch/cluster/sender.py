"""Which replica of a shard sends the direct notifications: the holder of a key in etcd.

Each replica keeps a lease of its own alive in etcd (renewed every third of its TTL) and tries
to create `PREFIX/shard/N/sender` with its name, attached to that lease (put-if-absent in one
transaction). The holder sends; when it dies or loses etcd, its lease expires and the key with
it, and the other replica's next try takes it: a handover within TTL + TTL/3.

Fencing by time: this replica counts its lease from *before* each renewal request, so its own
idea of "still mine" always ends before etcd's; `remaining()` keeps a margin, and a send is
only started with its whole timeout inside what remains (told.py). A partitioned sender thus
stops sending before the other replica can become the sender.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from netwatch.cluster.etcd import Etcd, EtcdError, get, mod_is, put
from netwatch.core.health import Health
from netwatch.core.model import EtcdSettings

log = logging.getLogger(__name__)

MARGIN = 1.0  # seconds of the lease kept in reserve (clock rates, a request in flight)
COMPONENT = "etcd"


class SenderLease:
    def __init__(
        self,
        etcd: Etcd,
        settings: EtcdSettings,
        shard: int,
        me: str,
        health: Health | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.etcd = etcd
        self.settings = settings
        self.key = f"{settings.prefix}/shard/{shard}/sender"
        self.shard = shard
        self.me = me
        self.health = health
        self._clock = clock
        self.lease = 0  # this replica's lease id (0: none yet, or lost)
        self.lease_until = 0.0  # monotonic time until which the lease surely lives
        self.leader = False
        self.holder: str | None = None  # who holds the sender key, as last read
        self.reachable = False

    def remaining(self) -> float:
        """Seconds this replica may still act as the sender (0 when it is not the sender)."""
        if not self.leader:
            return 0.0
        return max(0.0, self.lease_until - MARGIN - self._clock())

    async def step(self) -> None:
        """Renew (or get) the lease, then try to hold the sender key."""
        was = self.leader
        try:
            await self._renew()
            await self._campaign()
        except EtcdError as exc:
            self.reachable = False
            left = self.remaining()
            if left <= 0:
                self.leader = False
            note = f" (it stays the sender for {left:.0f} s more)" if left > 0 else ""
            if self.health is not None:
                self.health.fail(
                    COMPONENT,
                    f"{exc}: this replica sends no Telegram, e-mail or webhook notification "
                    f"until etcd answers{note}",
                )
        else:
            self.reachable = True
            if self.health is not None:
                self.health.ok(COMPONENT)
        if was != self.leader:
            log.warning(
                "shard %d: replica %s %s the notification sender",
                self.shard,
                self.me,
                "is now" if self.leader else "is no longer",
            )

    async def _renew(self) -> None:
        if self.lease:
            t0 = self._clock()
            ttl = await self.etcd.keepalive(self.lease)
            if ttl > 0:
                self.lease_until = t0 + ttl
                return
            log.warning("shard %d: replica %s's lease expired in etcd", self.shard, self.me)
            self.lease, self.leader = 0, False
        t0 = self._clock()
        self.lease, ttl = await self.etcd.grant(self.settings.lease_ttl)
        self.lease_until = t0 + ttl

    async def _campaign(self) -> None:
        mine = put(self.key, self.me, self.lease)
        r = await self.etcd.txn([mod_is(self.key, 0)], [mine], [get(self.key)])
        if r.succeeded:
            self.leader, self.holder = True, self.me
            return
        kv = r.kvs[0] if r.kvs else None
        if kv is None:  # gone between the compare and the read: the next step takes it
            self.leader, self.holder = False, None
            return
        self.holder = kv.value.decode(errors="replace")
        if self.holder != self.me:
            self.leader = False
        elif kv.lease == self.lease:
            self.leader = True
        else:
            # Our own name under an older lease: a previous run of this replica, now dead.
            again = await self.etcd.txn([mod_is(self.key, kv.mod_revision)], [mine])
            self.leader = again.succeeded

    async def run(self) -> None:
        """Renew and campaign every third of the TTL until cancelled."""
        while True:
            try:
                await self.step()
            except Exception:  # the loop must live on: a bug here would end all sending
                log.exception("shard %d: sender lease step failed", self.shard)
            await asyncio.sleep(self.settings.lease_ttl / 3)

    async def resign(self) -> None:
        """Give the key up at once (a clean stop): the peer takes over at its next step."""
        lease, self.lease, self.leader = self.lease, 0, False
        if lease:
            try:
                await self.etcd.revoke(lease)
            except EtcdError as exc:
                log.warning("shard %d: lease not revoked (it expires): %s", self.shard, exc)
