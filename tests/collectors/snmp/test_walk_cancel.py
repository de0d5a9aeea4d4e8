"""A poll cancelled while its walks wait their turn (netwatch stopping) leaves no coroutine
unawaited: 50k runs printed "coroutine '_walk_alone' was never awaited" at shutdown."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import time
import warnings
from collections.abc import Iterator

import pytest

from netwatch.collectors.snmp import ber
from netwatch.collectors.snmp.bulk import WALK_CONCURRENCY
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.types import OID, Kind, Target, Value
from tests.collectors.snmp.fake_agent import start_fake_agent
from tests.helpers.snmpd import Snmpd, running_snmpd

IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
# More columns than walks run at once, so that some wait for a turn when the poll is cancelled.
ROOTS: list[OID] = [(*IF_ENTRY, col) for col in range(1, 3 + 2 * WALK_CONCURRENCY)]


@pytest.fixture
def own_snmpd() -> Iterator[Snmpd]:
    with running_snmpd() as agent:
        yield agent


async def cancel_when_in_flight(engine: SnmpEngine, roots: list[OID], target: Target) -> None:
    """Start walk_many, cancel it once WALK_CONCURRENCY requests wait; keep no reference to
    it (its traceback holds the frames that hold the coroutines until it is freed)."""
    task = asyncio.ensure_future(engine.walk_many(target, roots))
    deadline = time.monotonic() + 10
    while engine.in_flight < WALK_CONCURRENCY:
        assert time.monotonic() < deadline and not task.done(), "walks never started"
        await asyncio.sleep(0.01)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    else:
        raise AssertionError("walk_many was not cancelled")
    del task


async def unawaited(caught: list[warnings.WarningMessage]) -> list[str]:
    for _ in range(5):  # the cancelled walks' tasks finish
        await asyncio.sleep(0)
    gc.collect()  # the warning is raised when the coroutine object is freed
    return [str(w.message) for w in caught if "never awaited" in str(w.message)]


async def test_cancelled_one_column_walks_leave_nothing_unawaited(own_snmpd: Snmpd) -> None:
    """bulk_varbinds 0: one walk per column, WALK_CONCURRENCY at a time; snmpd stopped, so
    the first ones wait for answers and the rest for their turn when the poll is cancelled."""
    target = Target(own_snmpd.host, own_snmpd.port, timeout=5.0, retries=0, bulk_varbinds=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with SnmpEngine() as engine:
            await engine.get(target, [(1, 3, 6, 1, 2, 1, 1, 3, 0)])
            os.kill(own_snmpd.proc.pid, signal.SIGSTOP)
            try:
                await cancel_when_in_flight(engine, ROOTS, target)
            finally:
                os.kill(own_snmpd.proc.pid, signal.SIGCONT)
        assert await unawaited(caught) == []


async def test_cancelled_walks_alone_leave_nothing_unawaited() -> None:
    """An agent that answers several repeaters column by column (as some embedded ones do,
    scripted: no agent here does) has its columns walked alone; those walks get no answer."""

    def script(msg: ber.Message) -> list[bytes]:
        if msg.pdu_type != ber.GETBULK or len(msg.varbinds) == 1:
            return []  # the one-column walks: silence, so they are in flight when cancelled
        first = msg.varbinds[0][0]  # the first column's rows only: not row-major
        rows = [((*first, i), Value(Kind.INTEGER, i)) for i in range(1, 4)]
        return [ber.encode_message(1, msg.community, ber.RESPONSE, msg.request_id, rows)]

    agent, port = await start_fake_agent(script)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            async with SnmpEngine() as engine:
                target = Target("127.0.0.1", port, timeout=5.0, retries=0)
                await cancel_when_in_flight(engine, ROOTS, target)
                assert engine.stats.bulk_fallbacks == 1  # the columns were walked alone
            assert await unawaited(caught) == []
    finally:
        agent.transport.close()  # type: ignore[union-attr]
