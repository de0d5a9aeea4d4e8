from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from netwatch.alerting.outbox import Outbox
from tests.helpers.http_sink import HttpSink


@pytest.fixture
async def sink() -> AsyncIterator[HttpSink]:
    s = await HttpSink().start()
    yield s
    await s.stop()


@pytest.fixture
async def running() -> AsyncIterator[Callable[[Outbox], asyncio.Task[None]]]:
    """running(outbox) starts its delivery loop; every loop is cancelled at teardown."""
    tasks: list[tuple[Outbox, asyncio.Task[None]]] = []

    def start(outbox: Outbox) -> asyncio.Task[None]:
        task = asyncio.create_task(outbox.run())
        tasks.append((outbox, task))
        return task

    yield start
    for outbox, task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await outbox.close()
