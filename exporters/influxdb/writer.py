"""Batching, retrying writer: lines → spool → server, acknowledged batches committed.

Every line goes through the spool (write-ahead), so an outage, a restart or a kill -9 loses
nothing appended; only the batch in flight at a crash is sent twice (at-least-once). When the
spool cannot be written (disk full, I/O error) lines are held in memory (bounded) and sent
straight from there while the server answers; the spool is retried and its fault reported
through `on_fault` (the runtime's /readyz and netwatch_component_up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable

from netwatch.core.health import RateLimitedLog
from netwatch.exporters.influxdb import metrics as m
from netwatch.exporters.influxdb.spool import Record, Spool
from netwatch.exporters.influxdb.transport import Transport, WriteError

log = logging.getLogger(__name__)

RETRY_AFTER_CAP = 3600.0  # a server asking for more than an hour is misconfigured
# While the spool cannot be written, at most this many batches wait in memory (newest kept).
MEMORY_HOLD_BATCHES = 20
# Hysteresis: a spool that failed is reported running again only after this many appends and
# this many seconds without a failure. On a nearly full disk a small append sometimes fits
# between failing ones; reporting each as a recovery flapped the part 39 times in 90 s in the
# soak of 3 Dec (docs/performance.md), 4 log lines each.
RECOVER_APPENDS = 3
RECOVER_SECONDS = 10.0


class _Stopping(Exception):
    """Raised inside the sender when stop() interrupts a retry wait."""


class Writer:
    """Feed lines with add(); start() runs the sender; stop() flushes what it can."""

    def __init__(
        self,
        transport: Transport,
        spool: Spool,
        *,
        batch_size: int = 5000,
        flush_interval: float = 1.0,
        retry_initial: float = 1.0,
        retry_max: float = 60.0,
        sync_interval: float = 1.0,
        rng: Callable[[], float] = random.random,
        on_fault: Callable[[str | None], None] | None = None,
    ) -> None:
        self.transport = transport
        self.spool = spool
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.sync_interval = sync_interval
        self._rng = rng
        self._pending: list[str] = []
        self._held: list[str] = []  # could not be spooled: sent from memory, oldest first
        self._on_fault = on_fault
        self._fault: str | None = None
        self._clean_since: float | None = None  # first append of the run without a failure
        self._clean_appends = 0
        self._log = RateLimitedLog(300.0)  # not reset by a recovery: a flap logs no more
        self._flush_scheduled = False
        self._inflight = 0
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._stop = asyncio.Event()
        self._urgent = False
        self._failing = False
        self._task: asyncio.Task[None] | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self._reported_drops = 0
        self._retry_timer: asyncio.TimerHandle | None = None

    # -- input ---------------------------------------------------------------------------

    def add(self, line: str) -> None:
        """Queue one line; it reaches the spool at the end of this event-loop iteration."""
        self._pending.append(line)
        self._schedule_flush()

    def add_many(self, lines: Iterable[str]) -> None:
        self._pending.extend(lines)
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if len(self._pending) >= self.batch_size:
            self.flush_pending()
        elif not self._flush_scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # called outside the loop: no later, so now
                self.flush_pending()
                return
            self._flush_scheduled = True
            loop.call_soon(self.flush_pending)

    def flush_pending(self) -> None:
        """Append held and new lines to the spool, as records of at most batch_size lines."""
        self._flush_scheduled = False
        lines = self._held + self._pending
        self._held, self._pending = [], []
        step = self.batch_size
        for i in range(0, len(lines), step):
            chunk = lines[i : i + step]
            try:
                self.spool.append("\n".join(chunk).encode(), len(chunk))
            except OSError as exc:  # disk full, spool dir gone: keep the lines in memory
                self._spool_failed(lines[i:], exc)
                break
        else:
            if lines:
                self._spool_ok()
        if lines:
            self._account_drops()
            self._wake.set()
            if self.spool.unread_points + len(self._held) >= self.batch_size:
                self._full.set()
            self._update_gauges()

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._run(), name="influxdb-writer")
        self._sync_task = asyncio.create_task(self._sync_loop(), name="influxdb-spool-sync")
        self._update_gauges()

    async def stop(self, timeout: float = 5.0) -> None:
        """Send what can be sent within timeout; the rest stays in the spool for next time."""
        self.flush_pending()
        await self.flush(timeout)
        if self._retry_timer is not None:
            self._retry_timer.cancel()
            self._retry_timer = None
        unsent = len(self._pending) + len(self._held)
        if unsent:
            log.error("InfluxDB: %d points could not be spooled and are lost", unsent)
            m.POINTS_DROPPED.labels("spool_error").inc(unsent)
            self._pending, self._held = [], []
        self._stop.set()
        self._wake.set()
        for task in (self._task, self._sync_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._sync_task = None
        await self.transport.close()
        self.spool.close()

    async def flush(self, timeout: float) -> bool:
        """Send everything queued now without waiting for fuller batches; True when done."""
        self.flush_pending()
        self._urgent = True
        self._full.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        try:
            while self.queued:
                if time.monotonic() >= deadline or self._task is None or self._task.done():
                    return False
                await asyncio.sleep(0.01)
            return True
        finally:
            self._urgent = False

    @property
    def queued(self) -> int:
        return len(self._pending) + len(self._held) + self.spool.unread_points + self._inflight

    # -- sender --------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                await self._step()
            except _Stopping:
                return  # uncommitted: the spool resends this batch on the next start
            except Exception:  # a bug or an I/O error must not end the export for good
                log.exception("InfluxDB writer: unexpected error; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.retry_initial)

    async def _step(self) -> None:
        """Wait for a batch, send it, commit it (spooled lines first, then held ones)."""
        self.flush_pending()
        if self.spool.unread_points == 0 and not self._held:
            self._wake.clear()
            await self._wake.wait()
            return
        waiting = self.spool.unread_points + len(self._held)
        if waiting < self.batch_size and not self._urgent:
            self._full.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self.flush_interval)
            self.flush_pending()
        records = self.spool.read(self.batch_size)
        if not records:
            await self._send_held()
            return
        self._inflight = sum(r.points for r in records)
        try:
            await self._deliver(records)
        except BaseException:
            self.spool.rewind()  # read again from the last commit: nothing skipped
            raise
        finally:
            self._inflight = 0
        last = records[-1]
        try:
            self.spool.commit(last.seq, last.end)
        except OSError as exc:
            # Acknowledged but not recorded: nothing is deleted, the next commit (a later
            # position) records both. Sending goes on meanwhile.
            self._spool_failed(None, exc)
        self._update_gauges()

    async def _send_held(self) -> None:
        """Send lines the spool could not take straight from memory (no commit needed)."""
        if not self._held:
            return
        batch, self._held = self._held[: self.batch_size], self._held[self.batch_size :]
        self._inflight = len(batch)
        try:
            await self._send_isolating("\n".join(batch).encode(), len(batch))
        except BaseException:
            self._held[:0] = batch  # not acknowledged: keep them, oldest first
            raise
        finally:
            self._inflight = 0
        self._update_gauges()

    async def _deliver(self, records: list[Record]) -> None:
        body = b"\n".join(r.payload for r in records)
        await self._send_isolating(body, sum(r.points for r in records))

    async def _send_isolating(self, body: bytes, count: int) -> None:
        """Send body; on a bad-data answer, bisect until only the bad lines are dropped."""
        error = await self._send_retrying(body)
        if error is None:
            m.POINTS_WRITTEN.inc(count)
            m.LAST_SUCCESS.set(time.time())
            return
        if error.partial_dropped is not None:  # the server kept the rest: no resend
            dropped = min(error.partial_dropped, count)
            m.POINTS_DROPPED.labels("rejected").inc(dropped)
            m.POINTS_WRITTEN.inc(count - dropped)
            m.LAST_SUCCESS.set(time.time())
            log.error("InfluxDB rejected %d of %d points: %s", dropped, count, error)
            return
        lines = body.split(b"\n")
        if len(lines) == 1:
            m.POINTS_DROPPED.labels("rejected").inc()
            log.error("InfluxDB rejected a point, dropped: %s (line: %.300r)", error, body)
            return
        mid = len(lines) // 2
        await self._send_isolating(b"\n".join(lines[:mid]), mid)
        await self._send_isolating(b"\n".join(lines[mid:]), len(lines) - mid)

    async def _send_retrying(self, body: bytes) -> WriteError | None:
        """Send until the server acknowledges (None) or calls the data bad (the error)."""
        attempt = 0
        while True:
            try:
                await self.transport.send(body)
            except WriteError as exc:
                m.WRITE_ERRORS.labels(exc.reason).inc()
                if exc.bad_data:
                    return exc
                delay = self._delay(attempt, exc.retry_after)
                if not self._failing:
                    log.warning("InfluxDB write failed (%s); retrying, spooling meanwhile", exc)
                    self._failing = True
                else:
                    log.debug("InfluxDB write failed again (%s); retry in %.1fs", exc, delay)
                attempt += 1
                self._update_gauges()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
                if self._stop.is_set():
                    raise _Stopping from None
                continue
            if self._failing:
                log.warning("InfluxDB writes succeed again; %d points to replay", self.queued)
                self._failing = False
            return None

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Retry-After when given (plus ≤10% jitter), else capped doubling, jittered 50–100%."""
        if retry_after is not None:
            return min(retry_after, RETRY_AFTER_CAP) * (1.0 + 0.1 * self._rng())
        base = min(self.retry_max, self.retry_initial * 2 ** min(attempt, 30))
        return base * (0.5 + 0.5 * self._rng())

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sync_interval)
            try:
                self.spool.sync()
            except OSError as exc:  # an fsync error must not end the loop silently
                self._spool_failed(None, exc)
            else:
                self._maybe_recovered()  # a quiet run of appends ends here, not at the next

    def _spool_failed(self, lines: list[str] | None, exc: OSError) -> None:
        """Report the spool's fault; lines (if given) could not be spooled and are held."""
        reason = f"spool {self.spool.dir}: {exc.strerror or exc}"
        self._clean_since, self._clean_appends = None, 0
        self._log(log, logging.ERROR, "spool", "InfluxDB %s; holding points in memory", reason)
        if self._fault != reason:
            self._fault = reason
            if self._on_fault is not None:
                self._on_fault(reason)
        if lines is None:
            return
        keep = MEMORY_HOLD_BATCHES * self.batch_size
        if keep < len(lines):
            m.POINTS_DROPPED.labels("spool_error").inc(len(lines) - keep)
            lines = lines[len(lines) - keep :]
        self._held = lines
        if self._retry_timer is None:  # retry shortly; a full disk may get space back
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # the next add() retries
            self._retry_timer = loop.call_later(self.flush_interval, self._retry_spool)

    def _retry_spool(self) -> None:
        self._retry_timer = None
        self.flush_pending()

    def _spool_ok(self) -> None:
        """An append succeeded: after a fault, one more towards the recovery (hysteresis)."""
        if self._fault is None:
            return
        if self._clean_since is None:
            self._clean_since = time.monotonic()
        self._clean_appends += 1
        self._maybe_recovered()

    def _maybe_recovered(self) -> None:
        """Report the spool running once it took RECOVER_APPENDS appends over RECOVER_SECONDS
        without a failure; the recovery is logged once, by the health it is reported to."""
        if self._fault is None or self._clean_since is None:
            return
        if self._clean_appends < RECOVER_APPENDS:
            return
        if time.monotonic() - self._clean_since < RECOVER_SECONDS:
            return
        self._fault = None
        self._clean_since, self._clean_appends = None, 0
        if self._on_fault is not None:
            self._on_fault(None)
        else:
            log.warning("InfluxDB spool %s: writable again", self.spool.dir)

    def _account_drops(self) -> None:
        new = self.spool.dropped_points - self._reported_drops
        if new:
            m.POINTS_DROPPED.labels("spool_full").inc(new)
            self._reported_drops = self.spool.dropped_points

    def _update_gauges(self) -> None:
        m.POINTS_QUEUED.set(self.queued)
        m.SPOOL_BYTES.set(self.spool.bytes)
