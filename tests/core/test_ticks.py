"""Periodic timers of different parts go off in the same turn of the event loop (ticks.py).

The stand-in for the echo stream arms its timer at the end of its 50 ms slot exactly as the
stream does (Wheel.end_of); the SNMP engine's deadline timer and the alert engine's lag probe
must land in those turns, not in turns of their own (each turn costs a select and the timer
heap's upkeep).
"""

from __future__ import annotations

import asyncio

import pytest

from netwatch.alerting.trace_gate import LagProbe
from netwatch.collectors.icmp.wheel import Wheel
from netwatch.collectors.snmp.deadlines import Deadlines
from netwatch.core.ticks import next_tick
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
