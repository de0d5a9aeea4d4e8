"""The outbox: notifications stored in the alert database, then delivered with retries.

The engine calls `Outbox.enqueue(conn, n)` inside its own transaction, so an alert's state
change and its notifications commit together. Routing happens then: one row per receiver.
`Outbox.run()` delivers due rows, each retried with exponential backoff and jitter until
delivered, rejected, or older than `delivery.max_age`. A row is claimed (attempts and next
attempt written) before it is sent and marked delivered after: a crash in between re-sends
that row once after restart, never loses it. See docs/alerting.md, "Delivery guarantees".
The tables and their statements are in outbox_store.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import random
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from netwatch.alerting import metrics, outbox_store
from netwatch.alerting.gate import Action, Decision, Gate, News
from netwatch.alerting.notifiers import (
    Context,
    DeliveryError,
    Notifier,
    Rejected,
    default_notifiers,
)
from netwatch.alerting.notifiers.base import Reposting
from netwatch.alerting.outbox_store import Due, OutboxStore, row_id
from netwatch.alerting.outbox_store import target_of as _target
from netwatch.alerting.routing import route
from netwatch.alerting.serialize import dumps, loads
from netwatch.alerting.types import Notification
from netwatch.core.health import RateLimitedLog
from netwatch.core.model import Inventory
from netwatch.core.notifications import NotificationSettings
from netwatch.core.ticks import next_tick

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger(__name__)
_DB_ERRORS = RateLimitedLog()  # database errors of delivery bookkeeping, per 5 minutes


class Outbox:
    """Routing at enqueue, durable delivery with backoff, re-posting for Alertmanager."""

    def __init__(
        self,
        db: str | sqlite3.Connection,
        settings: NotificationSettings,
        language: str = "id",
        notifiers: Mapping[str, Notifier] | None = None,
        village_names: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._conn = outbox_store.open_db(db) if isinstance(db, str) else db
        self.store = OutboxStore(self._conn)
        self.settings = settings
        self.language = language
        self.notifiers = dict(notifiers or default_notifiers())
        self.village_names = village_names or {}
        self._clock = clock
        self._rng = rng
        self._session: aiohttp.ClientSession | None = None
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._wake = asyncio.Event()
        self._inflight: dict[str, asyncio.Task[bool]] = {}
        self._last_purge = self._last_expire = self._last_gauges = 0.0
        # Cluster: resolves reach Alertmanager only after the peer had time to see the change
        # too (else its late re-post of "firing" revives the alert: a second notification).
        self.resolve_delay = 0.0
        # Cluster with etcd: direct notifiers ask the gate before each send (gate.py).
        self.gate: Gate | None = None
        # Which firing alerts may be re-posted (the engine's: confirmed since this start).
        self.repost_filter: Callable[[str], bool] | None = None

    @classmethod
    def for_inventory(cls, inventory: Inventory, db_path: str | None = None) -> Outbox:
        """The runtime's outbox: own connection to the alert database, names from inventory."""
        path = db_path or inventory.settings.alerting.db_path
        outbox = cls(path, inventory.settings.notifications, inventory.settings.language)
        outbox.reload(inventory)
        return outbox

    def reload(self, inventory: Inventory) -> None:
        """Adopt reloaded settings and village names; queued rows keep their receivers."""
        from netwatch.cluster.timing import peer_lag

        self.settings = inventory.settings.notifications
        self.language = inventory.settings.language
        self.village_names = {code: v.name for code, v in inventory.villages.items()}
        replicas = inventory.settings.cluster.replicas
        self.resolve_delay = peer_lag(inventory) if replicas > 1 else 0.0

    def _reposting(self, notifier: str) -> Reposting | None:
        n = self.notifiers.get(notifier)
        return n if isinstance(n, Reposting) else None

    # -- enqueue (engine's transaction) -------------------------------------------------------

    def enqueue(self, conn: sqlite3.Connection, n: Notification) -> int:
        """Add one row per receiver of n in conn's open transaction; returns rows added.

        Does not commit. Enqueueing the same notification id again adds nothing.
        """
        payload = dumps(n)
        added = 0
        fp = n.alert.fingerprint
        receivers = route(n, self.settings)
        if not receivers:
            log.warning(
                "notification %s (%s %s) has no receiver: no route matches and no default_contacts",
                n.id,
                n.event.value,
                n.alert.name,
            )
        for rcv in receivers:
            key = rcv.key
            reposting = self._reposting(rcv.notifier) is not None
            delay = self.resolve_delay if n.closes and reposting else 0.0
            new = outbox_store.add(
                conn, row_id(n.id, rcv), n.id, fp, n.created_at, n.event.value, payload,
                rcv.notifier, key, n.created_at + delay,
            )  # fmt: skip
            added += new
            # A repeated enqueue of an old "firing" must not revive a resolved alert.
            if new and not n.closes and reposting:
                outbox_store.keep_firing(conn, fp, key, payload)
        if n.closes:
            outbox_store.forget_firing(conn, fp)
        return added

    def forget(self, conn: sqlite3.Connection, fingerprint: str) -> None:
        """Stop re-posting an alert (in conn's open transaction): it is closed without a
        notification (its place left this instance)."""
        outbox_store.forget_firing(conn, fingerprint)

    def wake(self) -> None:
        """Deliver now rather than at the next poll (call after the engine commits)."""
        self._wake.set()

    # -- delivery --------------------------------------------------------------------------------

    def _context(self) -> Context:
        import aiohttp

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return Context(self._session, self.settings, self.language, self.village_names)

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt number attempts+1: doubling, capped, half of it jittered."""
        d = self.settings.delivery
        # The exponent is capped: 2**1100 would overflow a float long before max_age ends.
        base = min(d.max_backoff, d.min_backoff * 2 ** min(max(attempts - 1, 0), 60))
        return base * (0.5 + 0.5 * self._rng())

    async def deliver_due(self) -> int:
        """Send the rows due now (up to `concurrency`) and wait for them; returns delivered."""
        tasks = self._start_due()
        delivered = sum(await asyncio.gather(*tasks)) if tasks else 0
        self.update_gauges()
        return delivered

    def _start_due(self) -> list[asyncio.Task[bool]]:
        """Start a task per due row, keeping at most `concurrency` in flight.

        Sends run independently: a slow mail server never holds up a webhook.
        """
        now = self._clock()
        if now - self._last_expire >= 1.0:  # scans follow every send; expiry needs no such rate
            self._last_expire = now
            self._expire(now)
        room = max(self.settings.delivery.concurrency, 1) - len(self._inflight)
        if room <= 0:
            return []
        rows = self.store.due(now, room + len(self._inflight))
        rows = [r for r in rows if r.id not in self._inflight][:room]
        if not rows:
            return []
        ctx = self._context()
        tasks = []
        for row in rows:
            rid = row.id
            self._inflight[rid] = task = asyncio.create_task(self._deliver(ctx, row))
            task.add_done_callback(functools.partial(self._finished, rid))
            tasks.append(task)
        return tasks

    def _finished(self, rid: str, _task: asyncio.Task[bool]) -> None:
        self._inflight.pop(rid, None)
        self._wake.set()  # a slot is free, and the same alert's next row may now be due

    async def _deliver(self, ctx: Context, row: Due) -> bool:
        try:
            return await self._deliver_row(ctx, row)
        except sqlite3.Error as exc:
            # The database was busy, full or broken: the row stays pending and is tried again.
            # Logged at most every 5 minutes (no traceback per row and pass: a full disk would
            # flood the log); the engine's own writes name the fault on /readyz.
            _DB_ERRORS(
                log,
                logging.ERROR,
                "outbox-db",
                "notification %s: outbox database error, kept pending: %s",
                row.id,
                exc,
            )
            return False

    async def _ask_gate(self, gate: Gate, row: Due) -> Decision:
        """The gate's answer for a direct notifier's row (HOLD when the gate itself fails)."""
        try:
            news = News.of(row.receiver, loads(row.payload))
            later = self.store.newest_pending(row.rowid, row.receiver, row.fingerprint)
            newest = News.of(row.receiver, loads(later)) if later is not None else None
            return await gate.claim(news, newest)
        except Exception as exc:  # a bad row or a gate bug must not send, nor stop the loop
            log.exception("notification %s: the send gate failed", row.id)
            return Decision(Action.HOLD, f"send gate error: {type(exc).__name__}: {exc}")

    async def _gated(self, gate: Gate, row: Due) -> Decision:
        """Ask the gate; a TOLD row is marked done, a HOLD row waits for the next look."""
        decision = await self._ask_gate(gate, row)
        now = self._clock()
        if decision.action is Action.TOLD:
            self.store.delivered(row.id, now, decision.note)
            metrics.TOLD_BY_PEER.labels(row.notifier).inc()
        elif decision.action is Action.HOLD:
            self.store.retry(row.id, now + gate.hold_for, f"{outbox_store.HELD}{decision.note}")
        return decision

    async def _deliver_row(self, ctx: Context, row: Due) -> bool:
        rid, name = row.id, row.notifier
        notifier = self.notifiers.get(name)
        gate = self.gate if notifier is not None and self._reposting(name) is None else None
        decision: Decision | None = None
        if gate is not None:
            decision = await self._gated(gate, row)
            if decision.action is not Action.SEND:
                return decision.action is Action.TOLD
            ctx = dataclasses.replace(ctx, deadline=decision.timeout)
        attempts = row.attempts + 1
        self.store.claim(rid, attempts, self._clock() + self.backoff(attempts))
        try:
            if notifier is None:
                raise Rejected(f"no notifier named {name!r}")
            target = _target(row.receiver)
            n = loads(row.payload)
            if self._reposting(name) is not None:
                # One receiver at a time, shared with re-posts: a re-post never lands after a
                # resolve; and only the latest state of an alert matters there.
                async with self._locks[row.receiver]:
                    if self.store.superseded(rid, row.receiver, row.fingerprint):
                        self.store.delivered(
                            rid, self._clock(), "superseded by a newer state of the same alert"
                        )
                        return True
                    await notifier.send(ctx, target, n, rid)
            else:
                await notifier.send(ctx, target, n, rid)
        except Rejected as exc:
            self._drop(rid, name, "rejected", str(exc))
            metrics.FAILED.labels(name).inc()
            log.error("notification %s rejected, dropped: %s", rid, exc)
            return False
        except Exception as exc:  # any failure is retried: the loop must live on
            after = exc.retry_after if isinstance(exc, DeliveryError) else None
            if not isinstance(exc, DeliveryError):
                log.exception("notification %s: unexpected error", rid)
            delay = after if after is not None else self.backoff(attempts)
            self.store.retry(rid, self._clock() + delay, str(exc) or type(exc).__name__)
            metrics.FAILED.labels(name).inc()
            log.warning("notification %s attempt %d failed: %s", rid, attempts, exc)
            return False
        self.store.delivered(rid, self._clock(), None)
        metrics.SENT.labels(name).inc()
        if gate is not None and decision is not None:
            try:
                await gate.sent(decision.token)
            except Exception:  # delivered all the same; the log entry stays "sending"
                log.exception("notification %s: recording it as told failed", rid)
        return True

    def _drop(self, rid: str, notifier: str, reason: str, error: str) -> None:
        self.store.drop(rid, self._clock(), f"{reason}: {error}")
        metrics.DROPPED.labels(notifier, reason).inc()

    def _expire(self, now: float) -> None:
        d = self.settings.delivery
        purge = None
        if now - self._last_purge > 60:
            self._last_purge = now
            purge = now - d.keep_done
        for notifier, count in self.store.expire(now, now - d.max_age, purge):
            metrics.DROPPED.labels(notifier, "expired").inc(count)
            log.error("%d %s notifications expired undelivered", count, notifier)

    def update_gauges(self) -> None:
        count, oldest = self.store.pending()
        metrics.HELD.set(self.store.held())
        metrics.PENDING.set(count)
        metrics.OLDEST.set(max(self._clock() - oldest, 0.0) if oldest is not None else 0.0)

    # -- re-posting ------------------------------------------------------------------------------

    async def repost_firing(self) -> int:
        """Re-post every firing alert to its receivers (Alertmanager resolves silent alerts)."""
        posted = 0
        ctx = self._context()
        keep = self.repost_filter
        for name, receiver in self.store.firing_receivers():
            notifier = self._reposting(name)
            if notifier is None:
                continue
            # Under the same lock as outbox sends: a re-post never lands after a resolve.
            async with self._locks[receiver]:
                ns = [loads(p) for p in self.store.firing_payloads(receiver)]
                if keep is not None:
                    ns = [n for n in ns if keep(n.alert.fingerprint)]
                if not ns:
                    continue
                try:
                    await notifier.repost(ctx, _target(receiver), ns)
                except DeliveryError as exc:
                    metrics.REPOSTS.labels("error").inc()
                    log.warning("re-post to %s failed: %s", receiver, exc)
                    continue
            metrics.REPOSTS.labels("ok").inc()
            posted += len(ns)
        return posted

    # -- loops -------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver and re-post until cancelled; errors are logged, never stop the loops."""
        repost = asyncio.create_task(self._repost_loop())
        try:
            loop = asyncio.get_running_loop()
            while True:
                self._wake.clear()  # before the scan: a wake during it is not lost
                try:
                    self._pass()
                except Exception:
                    log.exception("outbox delivery pass failed")
                # A timer that sets the wake event (as the engine's tick): 3.11's wait_for can
                # swallow a cancel, asyncio.timeout throws one into this task every idle second.
                # On loop time's grid (core/ticks.py): a turn shared with the other timers.
                every = self.settings.delivery.poll_interval
                due = next_tick(loop.time(), every) if every > 0 else loop.time()
                timer = loop.call_at(due, self._wake.set)
                try:
                    await self._wake.wait()
                finally:
                    timer.cancel()
        finally:
            repost.cancel()
            pending = [repost, *self._inflight.values()]
            for task in pending:
                task.cancel()
            # A cancelled send stays claimed and pending: it is retried after a restart.
            await asyncio.gather(*pending, return_exceptions=True)

    def _pass(self) -> None:
        """One look: send what is due, expire, the gauges. Nothing pending nor in flight (the
        usual case): one count, not four statements (nothing to send, hold or expire)."""
        now = self._clock()
        if not self._inflight and self.store.pending()[0] == 0:
            if now - self._last_purge > 60:
                self._last_expire = now
                self._expire(now)  # purges the done rows
            for gauge in (metrics.HELD, metrics.PENDING, metrics.OLDEST):
                gauge.set(0)
            return
        self._start_due()
        if self._clock() - self._last_gauges >= 1.0:
            self._last_gauges = self._clock()
            self.update_gauges()

    async def _repost_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.alertmanager_repost_interval)
            try:
                await self.repost_firing()
            except Exception:
                log.exception("Alertmanager re-post failed")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
