"""The per-agent in-flight limit (collectors/snmp/gate.py): as asyncio.Semaphore behaves."""

from __future__ import annotations

import asyncio

from netwatch.collectors.snmp.gate import Gate


async def hold(gate: Gate, log: list[str], name: str, until: asyncio.Event) -> None:
    if not gate.take():
        await gate.wait()
    try:
        log.append(name)
        await until.wait()
    finally:
        gate.release()


async def test_at_most_slots_holders_served_in_arrival_order() -> None:
    gate, log, go = Gate(2), [], asyncio.Event()
    tasks = [asyncio.create_task(hold(gate, log, str(i), go)) for i in range(5)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert log == ["0", "1"]  # two slots, the rest wait
    go.set()
    await asyncio.gather(*tasks)
    assert log == ["0", "1", "2", "3", "4"]
    assert gate.take() and gate.take() and not gate.take()  # both slots free again


async def test_a_cancelled_waiter_passes_its_slot_on() -> None:
    gate, log, go = Gate(1), [], asyncio.Event()
    first = asyncio.create_task(hold(gate, log, "first", go))
    waiting = asyncio.create_task(hold(gate, log, "cancelled", go))
    last = asyncio.create_task(hold(gate, log, "last", go))
    await asyncio.sleep(0)
    waiting.cancel()  # while it waits for the slot
    go.set()
    await asyncio.gather(first, last)
    assert waiting.cancelled() and log == ["first", "last"]
    # Handed the slot, then cancelled before it ran: the slot goes on, it is not lost.
    gate2 = Gate(1)
    assert gate2.take()
    b = asyncio.create_task(gate2.wait())
    await asyncio.sleep(0)  # b waits
    gate2.release()  # hands b the slot...
    b.cancel()  # ...which is cancelled before it resumes
    await asyncio.sleep(0)
    assert b.cancelled()
    assert gate2.take() and not gate2.take()
