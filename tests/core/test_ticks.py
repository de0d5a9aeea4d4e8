"""Periodic timers of different parts go off in the same turn of the event loop (ticks.py).

The stand-in for the echo stream arms its timer at the end of its 50 ms slot exactly as the
stream does (Wheel.end_of); the SNMP engine's deadline timer and the alert engine's lag probe
must land in those turns, not in turns of their own (each turn costs a select and the timer
heap's upkeep).
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Iterator

import pytest

from netwatch.alerting import store
from netwatch.alerting.engine import Engine
from netwatch.alerting.outbox import Outbox
from netwatch.alerting.trace_gate import LagProbe
from netwatch.cluster import metrics as cluster_metrics
from netwatch.collectors.icmp.wheel import Wheel
from netwatch.collectors.snmp.deadlines import Deadlines
from netwatch.core import notifier_health
from netwatch.core.health import Health
from netwatch.core.model import AlertingSettings
from netwatch.core.ticks import next_tick, sleep_to_tick
from tests.alerting.harness import ONE_RECEIVER
from tests.helpers import regency
from tests.helpers.loop_calls import counting


def test_next_tick_is_the_next_multiple_and_never_now() -> None:
    assert next_tick(10.0, 0.25) == 10.25
    assert next_tick(10.01, 0.25) == 10.25
    assert next_tick(10.2499, 0.25) == 10.25
    assert next_tick(7.0, 1.0) == 8.0


@pytest.mark.parametrize("slot", [0.05, 0.2])  # the echo stream's slot: defaults, 1,000 devices
async def test_deadline_ticks_and_lag_probes_share_the_echo_stream_turns(slot: float) -> None:
    loop = asyncio.get_running_loop()
    stream_turns: set[int] = set()
    wheel: Wheel[int] = Wheel(slot)
    stopped = False

    def stream_tick() -> None:  # as EchoStream._arm: a timer at the end of the next slot
        stream_turns.add(turns[0])
        if not stopped:
            loop.call_at(wheel.end_of(loop.time() + 0.01), stream_tick)

    deadline_turns: list[int] = []
    deadlines = Deadlines(lambda token: None)
    tick = deadlines._tick

    def deadline_tick() -> None:
        deadline_turns.append(turns[0])
        tick()

    deadlines._tick = deadline_tick  # type: ignore[method-assign]
    probe_turns: list[int] = []
    with counting(loop, "_run_once") as turns:
        loop.call_at(wheel.end_of(loop.time() + 0.01), stream_tick)
        await asyncio.sleep(0.013)  # off the grid, as a poll's request would be
        probe = LagProbe(loop, 10.0, lambda: probe_turns.append(turns[0]))
        for i in range(10):  # requests with a 2 s timeout keep the deadline timer going
            deadlines.add(loop, 2.0, (i, 0))
            await asyncio.sleep(0.11)
        probe.close()
        deadlines.close()
        stopped = True
    # 1.1 s of 2 s timeouts: a tick every 0.2 s (a tenth of the timeout), ~5 of them.
    assert len(deadline_turns) >= 4
    assert set(deadline_turns) <= stream_turns
    assert probe_turns and set(probe_turns) <= stream_turns  # 0.2 s probes: on every slot size


class _Clock:
    """A stand-in loop for Deadlines: time moves only when the test says, timers in a list."""

    def __init__(self) -> None:
        self.now = 100.013  # off any grid
        self.timers: list[tuple[float, object]] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: object) -> _Clock:
        self.timers.append((when, callback))
        return self  # the handle: Deadlines only cancels it (close)

    def cancel(self) -> None:
        self.timers.clear()


@pytest.mark.parametrize(
    ("timeout", "step"),
    [(2.0, 0.2), (1.0, 0.1), (0.3, 0.03)],  # the default 2 s; shorter ones: a tenth of them
)
def test_a_deadline_fires_on_the_grid_at_most_a_tenth_of_its_timeout_late(
    timeout: float, step: float
) -> None:
    fired: list[tuple[float, tuple[int, int]]] = []
    clock = _Clock()
    deadlines = Deadlines(lambda token: fired.append((clock.now, token)))
    deadlines.add(clock, timeout, (1, 0))  # type: ignore[arg-type]
    sent = clock.now
    while not fired:  # run the timers as a loop would, each at its time
        when, callback = clock.timers.pop(0)
        assert clock.timers == []  # one timer at a time
        k = when / step
        assert abs(k - round(k)) < 1e-6  # on the grid: multiples of the step in loop time
        clock.now = when
        callback()  # type: ignore[operator]
    ((at, token),) = fired
    assert token == (1, 0)
    assert sent + timeout <= at < sent + timeout + step + 1e-9
    assert clock.timers == []  # nothing queued: no timer


class _StreamTurns:
    """A stand-in for the echo stream's timer: it goes off at the end of every slot, armed as
    EchoStream._arm arms it (Wheel.end_of); the turns of the loop it ran in are noted."""

    def __init__(self, loop: asyncio.AbstractEventLoop, slot: float, turns: list[int]) -> None:
        self.loop, self.wheel, self.turns = loop, Wheel[int](slot), turns
        self.seen: set[int] = set()
        self.stopped = False
        loop.call_at(self.wheel.end_of(loop.time() + 0.01), self._tick)

    def _tick(self) -> None:
        self.seen.add(self.turns[0])
        if not self.stopped:
            self.loop.call_at(self.wheel.end_of(self.loop.time() + 0.01), self._tick)


async def _off_the_grid() -> None:
    """Until 113 ms after a multiple of 0.2 s of loop time: off the 0.05 and 0.2 s grids
    alike, as a task started at an arbitrary moment is (sleeps from here stay off them)."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    loop.call_at(next_tick(loop.time(), 0.2) + 0.113, done.set_result, None)
    await done


async def test_sleep_to_tick_wakes_on_the_next_multiple_of_its_step() -> None:
    loop = asyncio.get_running_loop()
    await _off_the_grid()
    for _ in range(3):
        before = loop.time()
        await sleep_to_tick(0.1)
        woke = loop.time()
        k = math.floor(woke / 0.1 + 1e-6)
        assert woke - k * 0.1 < 0.05  # at a multiple of 0.1 s (late by the loop's turn only)
        assert woke - before <= 0.1 + 0.05


async def test_a_cancelled_sleep_to_tick_leaves_no_timer() -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(sleep_to_tick(60.0))
    await asyncio.sleep(0)
    timers = [h for h in loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len([h for h in loop._scheduled if not h.cancelled()]) == len(timers) - 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("slot", [0.05, 0.2])  # the echo stream's slot: defaults, 1,000 devices
async def test_the_heartbeat_beats_in_the_echo_stream_turns(
    slot: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/metrics.md: it beats every second; here every 0.2 s (the stream's widest slot)
    to keep the test short: the beat's interval is a multiple of every slot width."""
    loop = asyncio.get_running_loop()
    beats: list[tuple[int, float]] = []

    class Gauge:
        def set(self, value: float) -> None:
            beats.append((turns[0], loop.time()))

    monkeypatch.setattr(cluster_metrics, "HEARTBEAT", Gauge())
    monkeypatch.setattr(cluster_metrics, "BEAT_INTERVAL", 0.2)
    with counting(loop, "_run_once") as turns:
        stream = _StreamTurns(loop, slot, turns)
        await _off_the_grid()  # started at an arbitrary moment, as the runtime starts it
        beat = asyncio.create_task(cluster_metrics.beat())
        await asyncio.sleep(1.05)
        beat.cancel()
        stream.stopped = True
    later = beats[1:]  # the first beat is at the start, wherever that falls
    assert len(later) >= 4
    # The task goes on in the turn after its timer's (a call_soon: that select waits for
    # nothing), so its timer went off in the stream's turn.
    assert {turn - 1 for turn, _ in later} <= stream.seen
    times = [t for _, t in beats]
    assert all(0.0 < b - a <= 0.2 + 0.05 for a, b in itertools.pairwise(times))


@pytest.mark.parametrize("slot", [0.05, 0.2])
async def test_the_alert_engine_ticks_in_the_echo_stream_turns(slot: float, tmp_path) -> None:
    """alerting.tick (0.2 s here, 1 s by default): every tick's evaluation, after the first at
    the start, runs in a turn the loop made for the stream's slot."""
    loop = asyncio.get_running_loop()
    inv = regency.build(districts=1, villages=2, aps=1, settings=AlertingSettings(tick=0.2))
    conn = store.connect(str(tmp_path / "alerts.sqlite3"))
    engine = Engine(inv, conn=conn, outbox=Outbox(conn, ONE_RECEIVER))
    evaluations: list[tuple[int, float]] = []
    evaluation = engine.evaluation

    def noted(now: float | None, budget: float | None) -> Iterator[None]:
        evaluations.append((turns[0], loop.time()))
        return evaluation(now, budget)

    engine.evaluation = noted  # type: ignore[method-assign]
    stop = asyncio.Event()
    try:
        with counting(loop, "_run_once") as turns:
            stream = _StreamTurns(loop, slot, turns)
            await _off_the_grid()
            runner = asyncio.create_task(engine.run(stop))
            await asyncio.sleep(1.05)
            stop.set()
            await runner
            stream.stopped = True
    finally:
        conn.close()
    later = evaluations[1:]
    assert len(later) >= 4
    assert {turn - 1 for turn, _ in later} <= stream.seen  # (the task: a turn after its timer)
    times = [t for _, t in evaluations]
    assert all(0.0 < b - a <= 0.2 + 0.05 for a, b in itertools.pairwise(times))


async def test_the_notifier_check_runs_on_the_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CHECK_EVERY seconds (30 s; 0.2 s here): at multiples of it in loop time."""
    loop = asyncio.get_running_loop()
    checks: list[float] = []
    monkeypatch.setattr(notifier_health, "CHECK_EVERY", 0.2)
    watch = notifier_health.NotifierWatch(Health(), lambda: None)  # type: ignore[arg-type,return-value]
    monkeypatch.setattr(watch, "faults", lambda: {})
    monkeypatch.setattr(watch, "check", lambda faults=None: checks.append(loop.time()))
    await _off_the_grid()
    task = asyncio.create_task(watch.run())
    await asyncio.sleep(0.75)
    task.cancel()
    assert len(checks) >= 2
    # Each check follows a wake-up at a multiple of 0.2 s by the executor's round trip only.
    assert all(0.0 <= t - math.floor(t / 0.2 + 1e-6) * 0.2 < 0.08 for t in checks)
