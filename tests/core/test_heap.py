"""The heap settle: cyclic garbage is collected, not frozen; live objects leave the GC's walk."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from netwatch.core import heap
from netwatch.core.model import Role
from netwatch.core.runtime import Runtime
from netwatch.core.telemetry import REGISTRY
from tests.core.inventories import make_inventory

CPYTHON_DEFAULT = (700, 10, 10)  # gc.get_threshold() of a fresh CPython 3.11 (its docs)


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    """Each test starts from CPython's default thresholds and leaves the interpreter's heap
    as it found it: nothing frozen, its own thresholds back."""
    before = gc.get_threshold()
    gc.set_threshold(*CPYTHON_DEFAULT)
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


class Node:
    def __init__(self) -> None:
        self.me: Node | None = None


def test_settle_collects_cycles_and_freezes_the_living() -> None:
    kept = [Node() for _ in range(1000)]
    lost = Node()
    lost.me = lost  # a cycle: only the cyclic collector can free it
    gone = weakref.ref(lost)
    del lost
    frozen = heap.settle()
    assert gone() is None  # a bare gc.freeze() would have kept it for ever
    assert frozen == gc.get_freeze_count() >= len(kept)
    # the living are out of the collector's generations: a full collection skips them
    assert all(not any(o is n for o in gc.get_objects()) for n in kept[:3])


def test_a_second_settle_frees_cycles_frozen_by_the_first() -> None:
    # The old inventory after a reload: frozen while alive, a cycle once let go.
    old = Node()
    old.me = old
    gone = weakref.ref(old)
    heap.settle()
    del old
    gc.collect()
    assert gone() is not None  # frozen: the collector does not see it
    heap.settle()
    assert gone() is None


async def _first_settle_since(before: float, seconds: float = 10.0) -> float:
    """Settles counted since `before`, once there is one (or after `seconds`)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while heap.SETTLES._value.get() == before and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    return heap.SETTLES._value.get() - before


def test_settler_coalesces_requests_and_runs_after_the_delay() -> None:
    async def scenario() -> tuple[float, float]:
        before = heap.SETTLES._value.get()
        settler = heap.Settler()
        settler.request(0.05)
        settler.request(0.05)  # coalesced: one settle
        await asyncio.sleep(0.01)
        early = heap.SETTLES._value.get() - before
        await _first_settle_since(before)
        await asyncio.sleep(0.1)
        return early, heap.SETTLES._value.get() - before

    early, done = asyncio.run(scenario())
    assert (early, done) == (0, 1)


def test_a_running_runtime_settles_after_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The wiring, not just the function: a started runtime asks for one settle, a poll
    # interval later (shortened here), and a stop cancels a settle not yet due.
    monkeypatch.chdir(tmp_path)  # the alert store and spools land in the test's directory
    inv = make_inventory({"35.10.07.2001": [("r", Role.ROUTER, "127.0.7.1")]})

    async def scenario() -> tuple[float, float]:
        runtime = Runtime("unused.yaml", inv)
        monkeypatch.setattr(runtime, "_settle_delay", lambda: 0.05)
        before = heap.SETTLES._value.get()
        await runtime.start()
        try:
            settled = await _first_settle_since(before)
            runtime.heap.request(0.05)  # due after the stop below: must never run
        finally:
            await runtime.stop()
        await asyncio.sleep(0.2)
        return settled, heap.SETTLES._value.get() - before

    settled, after_stop = asyncio.run(scenario())
    assert (settled, after_stop) == (1, 1)
    assert heap.FROZEN._value.get() > 0
    assert gc.get_threshold() == CPYTHON_DEFAULT  # the stop gave CPython its full passes back


def test_the_pass_counters_count_real_collections() -> None:
    # Five collections made here by hand (automatic ones held off): 3 young, 2 full.
    count, seconds = list(heap.PASSES.count), list(heap.PASSES.seconds)
    gc.disable()
    try:
        for gen in (0, 0, 2, 0, 2):
            gc.collect(gen)
    finally:
        gc.enable()
    deltas = [heap.PASSES.count[g] - count[g] for g in range(3)]
    assert deltas == [3, 0, 2]
    assert heap.PASSES.seconds[2] > seconds[2]  # a full pass takes some time
    text = generate_latest(REGISTRY).decode()
    assert f'netwatch_gc_collections_total{{generation="2"}} {heap.PASSES.count[2]:.1f}' in text
    assert 'netwatch_gc_collection_seconds_total{generation="0"}' in text


def test_the_settler_runs_full_passes_on_its_clock_not_cpythons() -> None:
    async def scenario() -> tuple[tuple[int, int, int], bool, bool, bool]:
        settler = heap.Settler(full_every=0.2)
        before = heap.SETTLES._value.get()
        settler.request(0.01)
        await _first_settle_since(before)
        threshold = gc.get_threshold()
        old = Node()
        old.me = old
        gone = weakref.ref(old)
        gc.collect(1)
        gc.collect(1)  # a survivor of two middle passes: in the oldest generation now
        del old
        for _ in range(20):
            gc.collect(1)  # middle passes never walk the oldest generation
        after_middle = gone() is None
        await asyncio.sleep(0.3)  # past one tick of the clock
        after_clock = gone() is None
        settler.cancel()
        return threshold, after_middle, after_clock, gc.get_threshold() == CPYTHON_DEFAULT

    threshold, after_middle, after_clock, restored = asyncio.run(scenario())
    assert threshold == (700, 10, 1 << 30)  # young and middle as CPython's, no full pass
    assert (after_middle, after_clock) == (False, True)
    assert restored


def test_a_settle_asked_for_turns_cpythons_full_passes_off_until_cancelled() -> None:
    # Start-up: from the request on (not only from the settle, a poll interval later) CPython
    # starts no full pass of its own; a stop gives them back.
    async def scenario() -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        settler = heap.Settler()
        settler.request(60.0)
        held = gc.get_threshold()
        settler.cancel()
        return held, gc.get_threshold()

    held, after = asyncio.run(scenario())
    assert held == (700, 10, 1 << 30)
    assert after == CPYTHON_DEFAULT
