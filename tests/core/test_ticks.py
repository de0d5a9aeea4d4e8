"""Periodic timers of different parts go off in the same turn of the event loop (ticks.py).

The stand-in for the echo stream arms its timer at the end of its 50 ms slot exactly as the
stream does (Wheel.end_of); the SNMP engine's deadline timer and the alert engine's lag probe
must land in those turns, not in turns of their own (each turn costs a select and the timer
heap's upkeep).
"""

from __future__ import annotations

import asyncio

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


async def test_deadline_ticks_and_lag_probes_share_the_echo_stream_turns() -> None:
    loop = asyncio.get_running_loop()
    stream_turns: set[int] = set()
    wheel: Wheel[int] = Wheel(0.05)
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
    assert len(deadline_turns) >= 15 and len(probe_turns) >= 1
    assert set(deadline_turns) <= stream_turns
    assert set(probe_turns) <= stream_turns
