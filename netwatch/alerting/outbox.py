"""The outbox: notifications stored in the alert database, then delivered with retries.

The engine calls `Outbox.enqueue(conn, n)` inside its own transaction, so an alert's state
change and its notifications commit together. Routing happens then: one row per receiver.
`Outbox.run()` delivers due rows, each retried with exponential backoff and jitter until
delivered, rejected, or older than `delivery.max_age`. A row is claimed (attempts and next
attempt written) before it is sent and marked delivered after: a crash in between re-sends
that row once after restart, never loses it. See docs/alerting.md, "Delivery guarantees".
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from netwatch.alerting import metrics
from netwatch.alerting.notifiers import (
    Context,
    DeliveryError,
    Notifier,
    Rejected,
    default_notifiers,
)
from netwatch.alerting.notifiers.alertmanager import am_alert, closes, post_alerts
from netwatch.alerting.routing import Receiver, route
from netwatch.alerting.serialize import dumps, loads
from netwatch.alerting.types import Notification
from netwatch.core.model import Inventory, NotificationSettings

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,              -- notification id + '/' + receiver hash: idempotency key
    notification_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,        -- alert fingerprint: per-receiver order, AM supersede
    created_at REAL NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,            -- the Notification as JSON
    notifier TEXT NOT NULL,           -- alertmanager | webhook | telegram | email
    receiver TEXT NOT NULL,           -- JSON target; secrets only by reference
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    delivered_at REAL,
    dropped_at REAL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt)
    WHERE delivered_at IS NULL AND dropped_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_stream ON outbox (receiver, fingerprint)
    WHERE delivered_at IS NULL AND dropped_at IS NULL;
-- Alerts firing at an Alertmanager: re-posted until a resolve is enqueued.
CREATE TABLE IF NOT EXISTS outbox_firing (
    fingerprint TEXT NOT NULL,
    receiver TEXT NOT NULL,
    payload TEXT NOT NULL,
    PRIMARY KEY (fingerprint, receiver)
);
"""

_PENDING = "delivered_at IS NULL AND dropped_at IS NULL"
# A row waits while an older row of the same receiver and alert is pending: a receiver never
# sees "resolved" before "firing" of the same alert.
_DUE = f"""
SELECT rowid, id, notifier, receiver, payload, attempts, fingerprint FROM outbox AS o
WHERE {_PENDING} AND next_attempt <= ?
  AND NOT EXISTS (SELECT 1 FROM outbox AS p WHERE p.receiver = o.receiver
                  AND p.fingerprint = o.fingerprint AND p.{_PENDING.replace(" AND ", " AND p.")}
                  AND p.rowid < o.rowid)
ORDER BY rowid LIMIT ?
"""


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the outbox tables if missing (the engine may call this in its migrations)."""
    conn.executescript(SCHEMA)


def row_id(notification_id: str, receiver: Receiver) -> str:
    return f"{notification_id}/{hashlib.sha256(receiver.key.encode()).hexdigest()[:12]}"


def open_db(path: str) -> sqlite3.Connection:
    """A connection for the delivery loop: WAL so the engine's writes don't wait on reads."""
    conn = sqlite3.connect(path, timeout=10.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class Outbox:
    """Routing at enqueue, durable delivery with backoff, Alertmanager re-posting."""

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
        self._conn = open_db(db) if isinstance(db, str) else db
        create_schema(self._conn)
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

    @classmethod
    def for_inventory(cls, inventory: Inventory, db_path: str | None = None) -> Outbox:
        """The runtime's outbox: own connection to the alert database, names from inventory."""
        alerting = getattr(inventory.settings, "alerting", None)
        path = db_path or getattr(alerting, "db_path", None) or "netwatch-alerts.sqlite3"
        outbox = cls(path, inventory.settings.notifications, inventory.settings.language)
        outbox.reload(inventory)
        return outbox

    def reload(self, inventory: Inventory) -> None:
        """Adopt reloaded settings and village names; queued rows keep their receivers."""
        self.settings = inventory.settings.notifications
        self.language = inventory.settings.language
        self.village_names = {code: v.name for code, v in inventory.villages.items()}

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
            cur = conn.execute(
                "INSERT OR IGNORE INTO outbox (id, notification_id, fingerprint, created_at,"
                " event, payload, notifier, receiver, next_attempt) VALUES (?,?,?,?,?,?,?,?,?)",
                (row_id(n.id, rcv), n.id, fp, n.created_at, n.event.value, payload,
                 rcv.notifier, rcv.key, n.created_at),
            )  # fmt: skip
            added += cur.rowcount
            # A repeated enqueue of an old "firing" must not revive a resolved alert.
            if rcv.notifier == "alertmanager" and cur.rowcount and not closes(n):
                conn.execute(
                    "INSERT OR REPLACE INTO outbox_firing (fingerprint, receiver, payload)"
                    " VALUES (?,?,?)",
                    (fp, rcv.key, payload),
                )
        if closes(n):
            conn.execute("DELETE FROM outbox_firing WHERE fingerprint = ?", (fp,))
        return added

    def wake(self) -> None:
        """Deliver now rather than at the next poll (call after the engine commits)."""
        self._wake.set()

    # -- delivery --------------------------------------------------------------------------------

    def _context(self) -> Context:
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
        rows = self._conn.execute(_DUE, (now, room + len(self._inflight))).fetchall()
        rows = [r for r in rows if r[1] not in self._inflight][:room]
        if not rows:
            return []
        ctx = self._context()
        tasks = []
        for row in rows:
            rid = row[1]
            self._inflight[rid] = task = asyncio.create_task(self._deliver(ctx, row))
            task.add_done_callback(lambda _t, rid=rid: self._finished(rid))
            tasks.append(task)
        return tasks

    def _finished(self, rid: str) -> None:
        self._inflight.pop(rid, None)
        self._wake.set()  # a slot is free, and the same alert's next row may now be due

    async def _deliver(self, ctx: Context, row: tuple[Any, ...]) -> bool:
        try:
            return await self._deliver_row(ctx, row)
        except sqlite3.Error:
            # The database was busy or broken: the row stays pending and is tried again.
            log.exception("notification %s: outbox database error", row[1])
            return False

    async def _deliver_row(self, ctx: Context, row: tuple[Any, ...]) -> bool:
        _, rid, notifier_name, receiver, payload, attempts, fp = row
        attempts += 1
        with self._conn:  # claim: a crash from here on retries this row after the backoff
            self._conn.execute(
                "UPDATE outbox SET attempts = ?, next_attempt = ? WHERE id = ?",
                (attempts, self._clock() + self.backoff(attempts), rid),
            )
        target = json.loads(receiver)
        target.pop("notifier", None)
        notifier = self.notifiers.get(notifier_name)
        try:
            if notifier is None:
                raise Rejected(f"no notifier named {notifier_name!r}")
            n = loads(payload)
            if notifier_name == "alertmanager":
                async with self._locks[target["url"]]:
                    if self._superseded(rid, receiver, fp):
                        self._done(rid, "superseded by a newer state of the same alert")
                        return True
                    await notifier.send(ctx, target, n, rid)
            else:
                await notifier.send(ctx, target, n, rid)
        except Rejected as exc:
            self._drop(rid, notifier_name, "rejected", str(exc))
            metrics.FAILED.labels(notifier_name).inc()
            log.error("notification %s rejected, dropped: %s", rid, exc)
            return False
        except Exception as exc:  # any failure is retried: the loop must live on
            after = exc.retry_after if isinstance(exc, DeliveryError) else None
            if not isinstance(exc, DeliveryError):
                log.exception("notification %s: unexpected error", rid)
            self._retry(rid, attempts, str(exc) or type(exc).__name__, after)
            metrics.FAILED.labels(notifier_name).inc()
            log.warning("notification %s attempt %d failed: %s", rid, attempts, exc)
            return False
        self._done(rid, None)
        metrics.SENT.labels(notifier_name).inc()
        return True

    def _superseded(self, rid: str, receiver: str, fp: str) -> bool:
        # Alertmanager keeps only the latest state of an alert: an older one must not follow it.
        cur = self._conn.execute(
            "SELECT 1 FROM outbox WHERE receiver = ? AND fingerprint = ? AND id != ?"
            " AND rowid > (SELECT rowid FROM outbox WHERE id = ?) LIMIT 1",
            (receiver, fp, rid, rid),
        )
        return cur.fetchone() is not None

    def _done(self, rid: str, note: str | None) -> None:
        with self._conn:
            self._conn.execute(
                "UPDATE outbox SET delivered_at = ?, last_error = ? WHERE id = ?",
                (self._clock(), note, rid),
            )

    def _retry(self, rid: str, attempts: int, error: str, after: float | None) -> None:
        delay = after if after is not None else self.backoff(attempts)
        with self._conn:
            self._conn.execute(
                "UPDATE outbox SET next_attempt = ?, last_error = ? WHERE id = ?",
                (self._clock() + delay, error[:500], rid),
            )

    def _drop(self, rid: str, notifier: str, reason: str, error: str) -> None:
        with self._conn:
            self._conn.execute(
                "UPDATE outbox SET dropped_at = ?, last_error = ? WHERE id = ?",
                (self._clock(), f"{reason}: {error}"[:500], rid),
            )
        metrics.DROPPED.labels(notifier, reason).inc()

    def _expire(self, now: float) -> None:
        d = self.settings.delivery
        cutoff = now - d.max_age
        with self._conn:
            counts = self._conn.execute(
                f"SELECT notifier, count(*) FROM outbox WHERE {_PENDING} AND created_at < ?"
                " GROUP BY notifier",
                (cutoff,),
            ).fetchall()
            if counts:
                self._conn.execute(
                    f"UPDATE outbox SET dropped_at = ?, last_error = 'expired: ' ||"
                    f" coalesce(last_error, 'never attempted') WHERE {_PENDING}"
                    " AND created_at < ?",
                    (now, cutoff),
                )
            if now - self._last_purge > 60:
                self._last_purge = now
                self._conn.execute(
                    "DELETE FROM outbox WHERE coalesce(delivered_at, dropped_at) < ?",
                    (now - d.keep_done,),
                )
        for notifier, count in counts:
            metrics.DROPPED.labels(notifier, "expired").inc(count)
            log.error("%d %s notifications expired undelivered", count, notifier)

    def update_gauges(self) -> None:
        count, oldest = self._conn.execute(
            f"SELECT count(*), min(created_at) FROM outbox WHERE {_PENDING}"
        ).fetchone()
        metrics.PENDING.set(count)
        metrics.OLDEST.set(max(self._clock() - oldest, 0.0) if oldest is not None else 0.0)

    # -- Alertmanager re-post ------------------------------------------------------------------

    async def repost_firing(self) -> int:
        """Re-post every firing alert to its Alertmanagers (they resolve silent alerts)."""
        urls: dict[str, str] = {}
        for (receiver,) in self._conn.execute("SELECT DISTINCT receiver FROM outbox_firing"):
            urls[json.loads(receiver)["url"]] = receiver
        posted = 0
        ctx = self._context()
        for url, receiver in urls.items():
            # Under the same lock as outbox sends: a re-post never lands after a resolve.
            async with self._locks[url]:
                payloads = [
                    p
                    for (p,) in self._conn.execute(
                        "SELECT payload FROM outbox_firing WHERE receiver = ?", (receiver,)
                    )
                ]
                alerts = [am_alert(ctx, loads(p)) for p in payloads]
                try:
                    for i in range(0, len(alerts), 500):
                        await post_alerts(ctx, url, alerts[i : i + 500])
                except DeliveryError as exc:
                    metrics.REPOSTS.labels("error").inc()
                    log.warning("re-post to %s failed: %s", url, exc)
                    continue
            metrics.REPOSTS.labels("ok").inc()
            posted += len(alerts)
        return posted

    # -- loops -------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver and re-post until cancelled; errors are logged, never stop the loops."""
        repost = asyncio.create_task(self._repost_loop())
        try:
            while True:
                self._wake.clear()  # before the scan: a wake during it is not lost
                try:
                    self._start_due()
                    if self._clock() - self._last_gauges >= 1.0:
                        self._last_gauges = self._clock()
                        self.update_gauges()
                except Exception:
                    log.exception("outbox delivery pass failed")
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel that
                # lands as the wake fires, and the loop would never stop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.delivery.poll_interval):
                        await self._wake.wait()
        finally:
            repost.cancel()
            pending = [repost, *self._inflight.values()]
            for task in pending:
                task.cancel()
            # A cancelled send stays claimed and pending: it is retried after a restart.
            await asyncio.gather(*pending, return_exceptions=True)

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
