"""The echo stream's timer wheel: every item once, never before its time, at most a slot late."""

from __future__ import annotations

import math
import random

from netwatch.collectors.icmp.wheel import Wheel, slot_for

SLOT = 0.05


def test_wheel_releases_each_item_once_never_early_and_within_its_slot():
    rng = random.Random(10)
    wheel: Wheel[int] = Wheel(SLOT)
    due_at = {i: rng.uniform(0.0, 3.0) for i in range(2000)}
    for i, at in due_at.items():
        wheel.add(at, i)
    released: dict[int, float] = {}
    now = 0.0
    while now < 3.5:  # wake-ups at irregular times, as a busy loop runs them
        now += rng.uniform(0.0, 2 * SLOT)
        for items in wheel.due(now):
            for i in items:
                assert i not in released
                released[i] = now
        # What is left is due later than now, or in the slot that is running now.
        assert wheel.next_at() > now - 1e-9
    assert set(released) == set(due_at)
    for i, at in due_at.items():
        # Not before its time (a slot that ends now counts as begun: the float tolerance), and
        # by the first wake-up at or after its slot's end.
        assert released[i] >= at - 1e-6 * SLOT
        assert released[i] < math.ceil(at / SLOT) * SLOT + 2 * SLOT
    assert wheel.next_at() == math.inf


def test_wheel_tells_when_an_item_opened_a_slot():
    wheel: Wheel[str] = Wheel(SLOT)
    assert wheel.add(1.0, "a")  # a new slot: the caller arms its timer
    assert not wheel.add(1.0 - SLOT / 2, "b")  # the same slot: its timer is armed already
    assert wheel.add(1.0 + SLOT / 2, "c")
    assert wheel.next_at() == math.ceil(1.0 / SLOT) * SLOT
    assert [sorted(items) for items in wheel.due(1.0)] == [["a", "b"]]


def test_slot_is_a_quarter_of_the_shortest_time_kept_within_10_to_50_ms():
    assert slot_for(0.2) == 0.05  # the defaults: bursts 0.2 s apart, 1 s timeout, 6 s period
    assert slot_for(0.1) == 0.025
    assert slot_for(0.01) == 0.01  # never finer: each wake-up costs
    assert slot_for(30.0) == 0.05  # never coarser: a loss is known at most 50 ms late
