"""Count the calls of one method of a running event loop (its turns, its self-pipe writes)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def counting(loop: asyncio.AbstractEventLoop, method: str) -> Iterator[list[int]]:
    """Within the block, calls[0] is how often loop.method ran (e.g. "_run_once": turns)."""
    calls = [0]
    original = getattr(loop, method)

    def counted(*args: object) -> object:
        calls[0] += 1
        return original(*args)

    setattr(loop, method, counted)  # an instance attribute: the loop looks it up each time
    try:
        yield calls
    finally:
        delattr(loop, method)
