"""Scheduler behaviour with a collector that records when it runs (the clock is real)."""

from __future__ import annotations

import asyncio
import itertools
import time

from netwatch.core import telemetry
from netwatch.core.model import Device, Role
from netwatch.core.scheduler import Scheduler, slot_for, spread_offset
from tests.core.inventories import make_inventory
from tests.helpers.loop_calls import counting


class RecordingCollector:
    name = "rec"

    def __init__(self, interval: float, work: float = 0.0) -> None:
        self._interval = interval
        self.work = work
        self.starts: dict[str, list[float]] = {}
        self.running = 0
        self.max_running = 0

    def applies(self, device: Device) -> bool:
        return True

    def interval(self, device: Device) -> float:
        return self._interval

    async def collect(self, device: Device) -> str:
        self.starts.setdefault(device.name, []).append(time.monotonic())
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await asyncio.sleep(self.work)
        finally:
            self.running -= 1
        return device.name


def _inventory(n: int):
    return make_inventory(
        {f"35.10.07.{2000 + i}": [(f"d{i}", Role.ROUTER, f"127.0.7.{i + 1}")] for i in range(n)}
    )


def test_spread_offset_is_stable_and_within_interval() -> None:
    offsets = [spread_offset(f"ping\x1fd{i}", 30.0) for i in range(1000)]
    assert all(0 <= o < 30.0 for o in offsets)
    assert offsets == [spread_offset(f"ping\x1fd{i}", 30.0) for i in range(1000)]
    # Spread: every 3-second slice of the interval holds some of 1000 jobs.
    assert len({int(o // 3) for o in offsets}) == 10


async def test_each_device_runs_once_per_interval_spread_over_it() -> None:
    col = RecordingCollector(interval=1.0)
    seen: list[str] = []
    sched = Scheduler([col], seen.append)
    t0 = time.monotonic()
    sched.start(_inventory(20))
    await asyncio.sleep(3.6)
    await sched.shutdown()
    assert set(col.starts) == {f"d{i}" for i in range(20)}
    # First runs fall within 2 s (next whole second + a slot offset), then one a second.
    runs = [len(v) for v in col.starts.values()]
    assert all(2 <= r <= 4 for r in runs), runs
    for starts in col.starts.values():
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert all(0.8 < g < 1.2 for g in gaps), gaps
    first = sorted(v[0] - t0 for v in col.starts.values())
    assert first[-1] - first[0] > 0.5  # spread, not all at once
    assert len(seen) == sum(runs)


async def test_no_overlap_and_skips_counted() -> None:
    col = RecordingCollector(interval=1.0, work=2.5)
    before = telemetry.SCHEDULER_SKIPPED.labels("rec")._value.get()
    sched = Scheduler([col], lambda obs: None)
    sched.start(_inventory(1))
    await asyncio.sleep(4.5)
    await sched.shutdown()
    assert col.max_running == 1
    assert telemetry.SCHEDULER_SKIPPED.labels("rec")._value.get() > before


async def test_request_poll_runs_now_and_after_a_running_round() -> None:
    col = RecordingCollector(interval=60.0, work=0.3)
    sched = Scheduler([col], lambda obs: None)
    sched.start(_inventory(1))
    await asyncio.sleep(0.05)
    assert sched.request_poll("d0", "rec", "test") is True
    await asyncio.sleep(0.05)
    assert sched.request_poll("d0", "rec", "again while running") is True
    await asyncio.sleep(1.0)
    await sched.shutdown()
    starts = col.starts["d0"]
    assert len(starts) >= 2
    assert starts[1] - starts[0] >= 0.3  # the second waited for the first: no overlap
    assert col.max_running == 1
    assert sched.request_poll("nope", "rec") is False


async def test_sync_adds_and_removes_without_disturbing_others() -> None:
    col = RecordingCollector(interval=30.0)
    sched = Scheduler([col], lambda obs: None)
    sched.start(_inventory(3))
    jobs = {f"d{i}": sched.next_run("rec", f"d{i}") for i in range(3)}
    inv2 = make_inventory(
        {
            "35.10.07.2000": [("d0", Role.ROUTER, "127.0.7.1")],
            "35.10.07.2001": [("d1", Role.ROUTER, "127.0.7.2")],
            "35.10.07.2009": [("d9", Role.ROUTER, "127.0.7.10")],
        }
    )
    assert sched.sync(inv2) == (1, 1, 0)
    for name in ("d0", "d1"):
        assert jobs[name] is not None
        assert sched.next_run("rec", name) == jobs[name]
    assert sched.next_run("rec", "d2") is None and sched.next_run("rec", "d9") is not None
    assert sched.job_count == 3
    await sched.shutdown()


async def test_a_failing_collector_is_counted_and_others_go_on() -> None:
    class Broken(RecordingCollector):
        async def collect(self, device: Device) -> str:
            if device.name == "d0":
                raise RuntimeError("bug")
            return await super().collect(device)

    col = Broken(interval=0.5)
    seen: list[str] = []
    before = telemetry.POLL_ERRORS.labels("rec", "RuntimeError")._value.get()
    sched = Scheduler([col], seen.append)
    sched.start(_inventory(3))
    # Poll with a deadline rather than a fixed sleep: under load the first run can be late.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15.0
    errors = telemetry.POLL_ERRORS.labels("rec", "RuntimeError")
    while loop.time() < deadline:
        if {"d1", "d2"} <= set(seen) and errors._value.get() > before:
            break
        await asyncio.sleep(0.1)
    await sched.shutdown()
    assert {"d1", "d2"} <= set(seen)
    assert errors._value.get() > before


def _lag_above(collector: str, seconds: float) -> float:
    """Observations of collector's lag above the bucket bound `seconds` (cumulative count)."""
    samples = {
        (s.name, s.labels.get("le")): s.value
        for metric in telemetry.SCHEDULER_LAG.collect()
        for s in metric.samples
        if s.labels.get("collector") == collector
    }
    total = samples.get(("netwatch_scheduler_lag_seconds_count", None), 0.0)
    return total - samples.get(("netwatch_scheduler_lag_seconds_bucket", str(seconds)), 0.0)


async def test_a_run_dropped_past_the_grace_time_is_counted_and_observed_as_lag() -> None:
    """Soak finding: runs submitted on time whose start the stalled loop delayed past
    misfire_grace were dropped, and the lag histogram (taken at submission) never saw them."""
    col = RecordingCollector(interval=1.0)
    col.name = "stalled"
    sched = Scheduler([col], lambda obs: None, misfire_grace=1.0)
    missed = telemetry.SCHEDULER_MISSED.labels("stalled")
    before_missed, before_late = missed._value.get(), _lag_above("stalled", 1.0)
    stalls = []

    def stall_once(event) -> None:  # the loop is blocked right after a submission
        if not stalls:
            stalls.append(event.job_id)
            time.sleep(1.6)

    from apscheduler.events import EVENT_JOB_SUBMITTED

    sched._aps.add_listener(stall_once, EVENT_JOB_SUBMITTED)
    sched.start(_inventory(1))
    try:
        for _ in range(100):  # up to 10 s
            if missed._value.get() > before_missed:
                break
            await asyncio.sleep(0.1)
    finally:
        await sched.shutdown()
    assert missed._value.get() - before_missed == 1
    assert _lag_above("stalled", 1.0) - before_late >= 1  # the dropped run, ≥ 1.6 s late


async def test_sync_async_lets_the_loop_run_between_slices_and_matches_sync(monkeypatch) -> None:
    """A reload's sync yields to the event loop every SYNC_SLICE devices (issue 10) and ends
    with the jobs, counts and schedules the one-piece sync() gives."""
    from netwatch.core import scheduler as scheduler_mod

    monkeypatch.setattr(scheduler_mod, "SYNC_SLICE", 5)
    first, second = _inventory(40), _inventory(55)
    piece, sliced = (Scheduler([RecordingCollector(interval=30.0)], lambda o: None) for _ in "ab")
    piece.start(first)
    sliced.start(first)
    turns, syncing = 0, True

    def tick() -> None:  # another task's work: counts the turns the loop got during the sync
        nonlocal turns
        turns += 1
        if syncing:
            asyncio.get_running_loop().call_soon(tick)

    asyncio.get_running_loop().call_soon(tick)
    got = await sliced.sync_async(second)
    during, syncing = turns, False
    assert got == piece.sync(second) == (15, 0, 0)
    assert during >= 55 // 5  # at least one turn per slice of devices
    assert {j.id for j in sliced._aps.get_jobs()} == {j.id for j in piece._aps.get_jobs()}
    assert sliced.job_count == piece.job_count == 55
    assert all(sliced.next_run("rec", f"d{i}") is not None for i in range(55))
    await piece.shutdown()
    await sliced.shutdown()


def test_slots_widen_until_a_wake_up_starts_several_jobs() -> None:
    # 200 SNMP jobs a minute (1,000 devices): 1 s slots, ~3 jobs a wake-up; 10,000: 100 ms.
    assert slot_for(200, 60.0) == 1.0
    assert slot_for(1000, 60.0) == 0.2
    assert slot_for(10_000, 60.0) == 0.1
    assert slot_for(1, 0.5) == 0.5  # never wider than the interval
    offsets = {spread_offset(f"snmp\x1fd{i}", 60.0, 1.0) for i in range(200)}
    assert all(o == int(o) and 0 <= o < 60 for o in offsets)
    assert len(offsets) > 40  # still spread over the minute


async def test_few_jobs_start_on_whole_seconds_many_in_100_ms_slots() -> None:
    loop = asyncio.get_running_loop()
    few = Scheduler([RecordingCollector(interval=60.0)], lambda obs: None)
    few.start(_inventory(200))
    # Whole seconds of loop time (a turn the loop makes for its other timers), half a ms early.
    phase = time.time() - loop.time()
    fractions = {
        round((j.next_run_time.timestamp() - phase + 0.0005) % 1.0, 3) % 1.0
        for j in few._aps.get_jobs()
    }
    await few.shutdown()
    assert fractions == {0.0}  # 1 s slots: the old 100 ms slots gave ~10 fractions
    many = Scheduler([RecordingCollector(interval=6.0)], lambda obs: None)
    many.start(_inventory(400))  # 66 jobs a second: 100 ms slots
    fractions = {j.next_run_time.microsecond // 100_000 for j in many._aps.get_jobs()}
    await many.shutdown()
    assert len(fractions) == 10


async def test_the_scheduler_timer_runs_jobs_without_the_self_pipe() -> None:
    """APScheduler's own timer went through call_soon_threadsafe (a self-pipe write and an
    extra turn of the loop) on every wake-up; ours runs the due jobs on the loop directly."""
    loop = asyncio.get_running_loop()
    col = RecordingCollector(interval=0.5)
    sched = Scheduler([col], lambda obs: None)
    sched.start(_inventory(3))
    await asyncio.sleep(0)  # start()'s own wakeup (a thread-safe call) is not a timer's
    try:
        with counting(loop, "_write_to_self") as writes:
            deadline = loop.time() + 15.0
            while loop.time() < deadline and sum(map(len, col.starts.values())) < 12:
                await asyncio.sleep(0.1)
    finally:
        await sched.shutdown()
    assert sum(map(len, col.starts.values())) >= 12
    assert writes[0] == 0


async def test_one_apscheduler_job_per_slot_starts_each_of_its_devices() -> None:
    # 30 devices a second: 100 ms slots, so at most 10 APScheduler jobs (1 s / 0.1 s), not 30.
    col = RecordingCollector(interval=1.0)
    sched = Scheduler([col], lambda obs: None)
    sched.start(_inventory(30))
    try:
        slots = len(sched._aps.get_jobs())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15.0
        while loop.time() < deadline and min((len(v) for v in col.starts.values()), default=0) < 2:
            await asyncio.sleep(0.1)
    finally:
        await sched.shutdown()
    assert slots <= 10
    assert set(col.starts) == {f"d{i}" for i in range(30)}
    for starts in col.starts.values():  # still once a second each
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        assert all(0.8 < g < 1.2 for g in gaps), gaps


async def test_a_device_that_changes_interval_leaves_its_slot() -> None:
    col = RecordingCollector(interval=30.0)
    sched = Scheduler([col], lambda obs: None)
    inv = _inventory(3)
    sched.start(inv)
    col._interval = 20.0
    assert sched.sync(inv) == (0, 0, 3)
    intervals = {j.trigger.interval.total_seconds() for j in sched._aps.get_jobs()}
    assert intervals == {20.0}  # the 30 s slots went with their last device
    assert all(sched.next_run("rec", f"d{i}") is not None for i in range(3))
    await sched.shutdown()


async def test_the_scheduler_timer_goes_off_in_the_echo_stream_turns() -> None:
    """Slots start on whole seconds of loop time: APScheduler's timer goes off in the turns the
    loop makes for the echo stream's slots (here 200 ms, as at 1,000 devices), not in turns of
    its own (they were on whole seconds of the wall clock, anywhere in loop time)."""
    from tests.core.test_ticks import _StreamTurns

    loop = asyncio.get_running_loop()
    col = RecordingCollector(interval=1.0)
    sched = Scheduler([col], lambda obs: None)
    timer_turns: list[int] = []
    wake = sched._aps._wake_on_loop

    def noted() -> None:
        timer_turns.append(turns[0])
        wake()

    sched._aps._wake_on_loop = noted  # type: ignore[method-assign]
    try:
        with counting(loop, "_run_once") as turns:
            stream = _StreamTurns(loop, 0.2, turns)
            sched.start(_inventory(3))  # one 1 s slot
            deadline = loop.time() + 10.0
            while loop.time() < deadline and min(map(len, col.starts.values()), default=0) < 3:
                await asyncio.sleep(0.1)
            stream.stopped = True
    finally:
        await sched.shutdown()
    assert min(map(len, col.starts.values())) >= 3
    assert len(timer_turns) >= 3
    assert set(timer_turns) <= stream.seen
