"""Scheduler: one APScheduler job per slot of time, starting that slot's (device, collector) runs.

A collector that times its own probes (a StreamingCollector: the ICMP echo stream) gets the
inventory and the sink instead of jobs; re-check requests for it are passed on to it.

Device jobs are spread over their interval by a stable per-job offset in slots of 100 ms to
1 s (10,000 devices do not all fire at second 0; a few hundred do not wake the loop for one
job each). APScheduler schedules the slots (one coalesced job per interval and offset, with
the misfire grace; its per-job cost was ~70 µs a run at 10,000 jobs a minute): a slot's run
starts its device runs, which never overlap (a device still running is skipped) and run under
a global concurrency bound. Lag, skipped and missed runs are counted in core.telemetry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Generator, Iterable
from datetime import UTC, datetime, timedelta

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.triggers.interval import IntervalTrigger

from netwatch.core import telemetry
from netwatch.core.model import Device, Inventory
from netwatch.core.plugins import Collector, Observation, StreamingCollector
from netwatch.core.slots import (
    SLOT,
    LoopScheduler,
    origin_of,
    slot_for,
    spread_offset,
)
from netwatch.core.turns import in_turns

log = logging.getLogger(__name__)

SYNC_SLICE = 2000  # devices per slice of sync_async() between turns of the event loop

__all__ = ["Collector", "Scheduler", "slot_for", "spread_offset"]


def _job_id(collector: str, device: str) -> str:
    return f"{collector}\x1f{device}"


def _split_id(job_id: str) -> tuple[str, str]:
    collector, _, device = job_id.partition("\x1f")
    return collector, device


def _slot_id(interval: float, offset: float) -> str:
    """The APScheduler job of the slot at `offset` seconds into every `interval`."""
    return f"slot {interval:g}s +{offset:.3f}s"


def _step(steps: Generator[None, None, tuple[int, int, int]]) -> tuple[int, int, int] | None:
    """Run steps to its next pause (None) or to its end (its result)."""
    try:
        next(steps)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    return None


class Scheduler:
    """Runs collectors for the devices of an inventory and hands observations to a sink."""

    def __init__(
        self,
        collectors: Iterable[Collector | StreamingCollector],
        sink: Callable[[Observation], None],
        *,
        max_concurrency: int = 1000,
        misfire_grace: float = 5.0,
    ) -> None:
        self.collectors: dict[str, Collector] = {}
        self.streams: dict[str, StreamingCollector] = {}
        for c in collectors:
            if isinstance(c, StreamingCollector):
                self.streams[c.name] = c
            else:
                self.collectors[c.name] = c
        self._sink = sink
        self._misfire_grace = misfire_grace
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._devices: dict[str, Device] = {}
        # The devices each stream follows, to count what a reload added, removed or changed.
        self._followed: dict[str, dict[str, Device]] = {}
        self._intervals: dict[str, float] = {}
        self._slot_of: dict[str, str] = {}  # device job → its slot's APScheduler job
        self._slots: dict[str, dict[str, None]] = {}  # slot → its device jobs, in order added
        self._running: set[str] = set()
        self._regular: set[str] = set()  # running a scheduled run (not a recheck)
        self._scheduled: dict[str, datetime] = {}  # slot → scheduled time of its submitted run
        self._again: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._aps = LoopScheduler(timezone=UTC)
        self._aps.add_listener(
            self._on_event, EVENT_JOB_SUBMITTED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, inventory: Inventory) -> None:
        self.sync(inventory)
        self._aps.start()

    async def shutdown(self) -> None:
        self._stopping = True
        for stream in self.streams.values():
            stream.unfollow()
        self._aps.shutdown(wait=False)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- jobs ------------------------------------------------------------------------------

    def sync(self, inventory: Inventory) -> tuple[int, int, int]:
        """Make the jobs match the inventory; untouched devices keep their schedule.

        Returns (added, removed, changed) counts of jobs and of devices a stream follows.
        """
        steps = self._sync_steps(inventory)
        while (counts := _step(steps)) is None:
            pass
        return counts

    async def sync_async(self, inventory: Inventory) -> tuple[int, int, int]:
        """sync() in slices of SYNC_SLICE devices with the event loop's other work in between
        (a reload at 50,000 devices held polling for ~0.45 s in one piece; issue 10)."""
        return await in_turns(self._sync_steps(inventory))

    def _sync_steps(self, inventory: Inventory) -> Generator[None, None, tuple[int, int, int]]:
        """sync()'s work; it yields after every SYNC_SLICE devices (a pause is harmless:
        a job of a device about to go finds no device and returns)."""
        wanted: dict[str, tuple[Device, float]] = {}
        for i, device in enumerate(inventory.devices.values(), 1):
            for collector in self.collectors.values():
                if collector.applies(device):
                    wanted[_job_id(collector.name, device.name)] = (
                        device,
                        collector.interval(device),
                    )
            if i % SYNC_SLICE == 0:
                yield
        added = removed = changed = 0
        for job_id in list(self._devices):
            if job_id not in wanted:
                self._remove(job_id)
                removed += 1
        yield
        origin = origin_of(datetime.now(UTC))
        per_interval: dict[float, int] = {}
        for _, interval in wanted.values():
            per_interval[interval] = per_interval.get(interval, 0) + 1
        slots = {iv: slot_for(n, iv) for iv, n in per_interval.items()}
        for i, (job_id, (device, interval)) in enumerate(wanted.items(), 1):
            old = self._devices.get(job_id)
            if old is None:
                self._add(job_id, device, interval, origin, slots[interval])
                added += 1
            elif old != device or self._intervals[job_id] != interval:
                if self._intervals[job_id] != interval:
                    # Replaced in place (replace_existing): had the new trigger failed, the
                    # old job would still run; remove-then-add could lose it.
                    self._add(job_id, device, interval, origin, slots[interval])
                self._devices[job_id] = device
                changed += 1
            if i % SYNC_SLICE == 0:
                yield
        counts: dict[str, int] = dict.fromkeys(self.collectors, 0)
        for job_id in self._devices:
            counts[_split_id(job_id)[0]] += 1
        for name, stream in self.streams.items():
            now_on = {d.name: d for d in inventory.devices.values() if stream.applies(d)}
            before = self._followed.get(name, {})
            added += len(now_on.keys() - before.keys())
            removed += len(before.keys() - now_on.keys())
            for i, (device_name, d) in enumerate(now_on.items(), 1):
                old_device = before.get(device_name)
                if old_device is not None and old_device != d:
                    changed += 1
                if i % SYNC_SLICE == 0:
                    yield
            self._followed[name] = now_on
            counts[name] = stream.follow(inventory, self._sink)  # one piece: see EchoStream
            yield
        for name, n in counts.items():
            telemetry.SCHEDULER_JOBS.labels(name).set(n)
        return added, removed, changed

    def _add(
        self, job_id: str, device: Device, interval: float, origin: datetime, slot: float = SLOT
    ) -> None:
        """Put the device job in its slot (made with its first member), out of its old one;
        origin is a whole second of loop time (slots.origin_of) in the last second."""
        offset = spread_offset(job_id, interval, slot)
        sid = _slot_id(interval, offset)
        members = self._slots.get(sid)
        if members is None:
            # Slots are aligned to whole seconds of loop time so that jobs of any interval
            # share wake-ups, with each other and with the loop's other periodic timers.
            start = origin + timedelta(seconds=1 + offset)
            trigger = IntervalTrigger(seconds=interval, start_date=start, timezone=UTC)
            self._aps.add_job(
                self._slot,
                trigger,
                args=(sid,),
                id=sid,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(self._misfire_grace)),
                replace_existing=True,
            )
            members = self._slots[sid] = {}
        old = self._slot_of.get(job_id)
        if old is not None and old != sid:
            self._leave(job_id, old)
        members[job_id] = None
        self._slot_of[job_id] = sid
        self._devices[job_id] = device
        self._intervals[job_id] = interval

    def _leave(self, job_id: str, sid: str) -> None:
        members = self._slots.get(sid, {})
        members.pop(job_id, None)
        if not members and self._slots.pop(sid, None) is not None:  # its last device left
            self._scheduled.pop(sid, None)
            self._aps.remove_job(sid)

    def _remove(self, job_id: str) -> None:
        self._devices.pop(job_id, None)
        self._intervals.pop(job_id, None)
        self._again.discard(job_id)
        self._leave(job_id, self._slot_of.pop(job_id, ""))

    def next_run(self, collector: str, device: str) -> datetime | None:
        """When the device's next scheduled run is due (its slot's), None without a job."""
        job = self._aps.get_job(self._slot_of.get(_job_id(collector, device), ""))
        return job.next_run_time if job is not None else None

    def request_poll(self, device_name: str, collector: str, reason: str = "") -> bool:
        """Ask for an immediate extra run (a recheck request: traps, alert confirmation).

        Returns False when no such job exists. A run already in progress is followed by
        another one right after it, never run in parallel.
        """
        stream = self.streams.get(collector)
        if stream is not None:
            return stream.request(device_name, reason)
        job_id = _job_id(collector, device_name)
        if job_id not in self._devices:
            return False
        log.debug("recheck of %s/%s requested: %s", collector, device_name, reason)
        if job_id in self._running:
            self._again.add(job_id)
        else:
            self._spawn(job_id)
        return True

    def _spawn(self, job_id: str, scheduled: datetime | None = None) -> None:
        task = asyncio.get_running_loop().create_task(self._run(job_id, scheduled))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _slot(self, sid: str) -> None:
        """Start the slot's device runs; one whose last scheduled run goes on is skipped."""
        scheduled = self._scheduled.pop(sid, None)
        for job_id in list(self._slots.get(sid, ())):
            if job_id not in self._regular:
                self._spawn(job_id, scheduled)
                continue
            telemetry.SCHEDULER_SKIPPED.labels(_split_id(job_id)[0]).inc()

    async def _run(self, job_id: str, scheduled: datetime | None = None) -> None:
        if scheduled is not None:
            self._observe_lag(_split_id(job_id)[0], scheduled)
        if job_id in self._running:  # a recheck raced with the regular run
            self._again.add(job_id)
            return
        device = self._devices.get(job_id)
        if device is None:
            return
        collector = self.collectors[_split_id(job_id)[0]]
        self._running.add(job_id)
        if scheduled is not None:
            self._regular.add(job_id)
        try:
            async with self._semaphore:
                telemetry.SCHEDULER_RUNNING.inc()
                started = time.perf_counter()
                try:
                    obs = await collector.collect(device)
                except asyncio.CancelledError:
                    if self._stopping:  # shutdown cancels rounds in flight: not an error
                        return
                    raise
                except Exception as exc:  # a collector bug must not stop the others
                    log.exception("%s collector failed for %s", collector.name, device.name)
                    telemetry.POLL_ERRORS.labels(collector.name, type(exc).__name__).inc()
                    return
                finally:
                    telemetry.SCHEDULER_RUNNING.dec()
                    telemetry.POLL_DURATION.labels(collector.name).observe(
                        time.perf_counter() - started
                    )
            try:
                self._sink(obs)
            except Exception:
                log.exception("recording %s observation of %s failed", collector.name, device)
        finally:
            self._running.discard(job_id)
            self._regular.discard(job_id)
            if job_id in self._again:
                self._again.discard(job_id)
                self._spawn(job_id)

    def _on_event(self, event: JobEvent) -> None:  # a slot's: counted for each of its devices
        sid = event.job_id
        if event.code == EVENT_JOB_SUBMITTED:
            # The lag is taken when the run starts (_run): a loop stalled between submission
            # and start delays it, and that is what the misfire check drops runs for.
            assert isinstance(event, JobSubmissionEvent)
            self._scheduled[sid] = max(event.scheduled_run_times)
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            for job_id in self._slots.get(sid, ()):
                telemetry.SCHEDULER_SKIPPED.labels(_split_id(job_id)[0]).inc()
        elif event.code == EVENT_JOB_MISSED:
            # A dropped run is the latest of all: counted, and observed in the lag histogram
            # (it used to be left out, so a stall that dropped a whole round showed no lag).
            assert isinstance(event, JobExecutionEvent)
            self._scheduled.pop(sid, None)
            for job_id in self._slots.get(sid, ()):
                collector = _split_id(job_id)[0]
                telemetry.SCHEDULER_MISSED.labels(collector).inc()
                self._observe_lag(collector, event.scheduled_run_time)

    def _observe_lag(self, collector: str, scheduled: datetime) -> None:
        lag = (datetime.now(UTC) - scheduled).total_seconds()
        telemetry.SCHEDULER_LAG.labels(collector).observe(max(0.0, lag))

    @property
    def job_count(self) -> int:
        return len(self._devices)
