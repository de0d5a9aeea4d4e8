from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.helpers.http_sink import HttpSink


@pytest.fixture
async def sink() -> AsyncIterator[HttpSink]:
    s = await HttpSink().start()
    yield s
    await s.stop()
