"""The echo stream's timer wheel: every item once, never before its time, at most a slot late."""

from __future__ import annotations

import itertools
import math
import random

from netwatch.collectors.icmp.stream import EchoStream
from netwatch.collectors.icmp.wheel import FEW, STEADY_FEW, WIDEST, Wheel, slot_for, steady_slot
from tests.helpers import regency

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
    busy = [6.0] * 10_000  # 10,000 devices at 6 s: 1,667 echoes a second, 83 in 50 ms
    assert slot_for(0.2, 1.0, busy) == 0.05  # the defaults: bursts 0.2 s apart, 1 s timeout
    assert slot_for(0.1, 1.0, busy) == 0.025
    assert slot_for(0.01, 1.0, busy) == 0.01  # never finer: each wake-up costs
    assert slot_for(0.2, 0.08, busy) == 0.02  # a quarter of the timeout when it is shortest
    assert slot_for(30.0, 30.0, [30.0] * 100_000) == 0.05  # 3,333/s: a loss at most 50 ms late


def test_slot_doubles_while_fewer_than_few_steady_echoes_fall_in_one():
    # By hand, at the defaults (a steady echo every 6 s per device, spacing 0.2 s, timeout 1 s):
    # 1,000 devices send 166.7 echoes a second: 8.3 in 50 ms, 16.7 in 100 ms, 33.3 in 200 ms.
    assert FEW == 32 and WIDEST == 0.2
    assert slot_for(0.2, 1.0, [6.0] * 1000) == 0.2
    assert slot_for(0.2, 1.0, [6.0] * 1900) == 0.2  # 316.7/s: 31.7 in 100 ms
    assert slot_for(0.2, 1.0, [6.0] * 1950) == 0.1  # 325/s: 32.5 in 100 ms
    assert slot_for(0.2, 1.0, [6.0] * 3000) == 0.1  # 500/s: 25 in 50 ms, 50 in 100 ms
    assert slot_for(0.2, 1.0, [6.0] * 5000) == 0.05  # 833/s: 41.7 in 50 ms
    # Periods count by their rates: 500 devices at 1 s are 500/s, 25 in 50 ms, 50 in 100 ms.
    assert slot_for(0.2, 1.0, [1.0] * 500) == 0.1
    assert slot_for(0.2, 1.0, [1.0] * 500 + [6.0] * 3000) == 0.05  # 1,000/s: 50 in 50 ms
    assert slot_for(0.2, 1.0, []) == 0.2  # nothing pinged: nothing to wake for anyway


def test_a_widened_slot_stays_within_the_spacing_a_quarter_of_the_timeout_and_widest():
    few = [6.0] * 10
    assert slot_for(0.1, 1.0, few) == 0.1  # 25 ms, 50, 100: not 200 ms past the spacing
    assert slot_for(0.2, 0.4, few) == 0.1  # a quarter of the 0.4 s timeout
    assert slot_for(1.0, 5.0, [60.0] * 10) == 0.2  # 50 ms, 100, 200: WIDEST
    assert slot_for(0.2, 1.0, [0.4] * 10) == 0.1  # a quarter of the steady period
    assert slot_for(0.05, 0.2, [0.2] * 5) == 0.05  # the stream tests' FAST settings: 12.5 ms x 4


def test_a_burst_in_widened_slots_leaves_spacing_apart_one_echo_a_wake_up():
    """Echoes due spacing apart (a burst, stream.py _next) in a slot as wide as the spacing,
    or half of it: each wake-up releases one, and the wake-ups are spacing apart."""
    rng = random.Random(7)
    for slot, spacing in ((0.2, 0.2), (0.1, 0.2), (0.2, 0.3)):
        for _ in range(200):
            wheel: Wheel[int] = Wheel(slot)
            start = rng.uniform(0.0, 100.0)
            for k in range(17):
                wheel.add(start + k * spacing, k)
            wakes = []
            while wheel.next_at() != math.inf:
                at = wheel.next_at()  # the stream's timer goes off at the slot's end
                released = [k for items in wheel.due(at) for k in items]
                assert len(released) == 1
                wakes.append((at, released[0]))
            assert [k for _, k in wakes] == list(range(17))
            for a, k in wakes:
                assert a >= start + k * spacing - 1e-9  # never early
                assert a < start + k * spacing + slot + 1e-9  # at most a slot late
            for (a, _), (b, _) in itertools.pairwise(wakes):
                if spacing % slot < 1e-9 or slot - spacing % slot < 1e-9:  # slot divides it
                    assert abs((b - a) - spacing) < 1e-6
                else:
                    assert spacing - slot - 1e-6 < b - a < spacing + slot + 1e-6


def test_steady_slot_divides_the_way_to_the_deadlines_slot_and_holds_steady_few():
    assert FEW == 32
    # By hand, the defaults (1 s timeout, a steady echo every 6 s): an echo sent just after a
    # 200 ms boundary times out 1 s later, in the slot that ends 1.2 s after the boundary:
    # the candidates are 0.4, 0.6 and 1.2 s. 1,000 devices send 166.7 a second: 200 in 1.2 s.
    assert STEADY_FEW == 256
    assert steady_slot(0.2, 1.0, [6.0] * 1000) == 1.2
    assert steady_slot(0.2, 1.0, [6.0] * 1270) == 1.2  # 211.7/s: 254 in 1.2 s
    assert steady_slot(0.2, 1.0, [6.0] * 1300) == 0.6  # 216.7/s: 260 in 1.2 s, 130 in 0.6
    assert steady_slot(0.1, 1.0, [6.0] * 2525) == 0.1  # 1.1 s (11 slots, prime) holds 463
    assert steady_slot(0.05, 1.0, [6.0] * 5000) == 0.15  # 21 slots: 0.15 s 125, 0.35 s 292
    # 10,000 devices: 83 in 50 ms, at least 2 * FEW (64) already: no wider.
    assert steady_slot(0.05, 1.0, [6.0] * 10_000) == 0.05
    assert steady_slot(0.05, 1.0, [6.0] * 50_000) == 0.05
    assert steady_slot(0.2, 1.0, [1.0] * 10) == 0.2  # a quarter of a 1 s period: 0.25 s
    assert steady_slot(0.05, 0.2, [0.2] * 5) == 0.05  # FAST: 0.25 s past a quarter period
    assert steady_slot(0.2, 1.0, []) == 1.2  # nothing pinged


def test_a_steady_wake_ups_deadlines_end_on_a_later_steady_wake_up():
    """Echoes sent up to a slot after a steady slot's end (a wake-up runs late, its sends
    take time) are lost at the end of their deadline's slot (stream._expect): a steady slot's
    end, so their losses need no wake-up of their own."""
    rng = random.Random(16)
    for slot, timeout, periods in (
        (0.2, 1.0, [6.0] * 1000),
        (0.2, 1.0, [6.0] * 1500),
        (0.05, 1.0, [6.0] * 5000),
        (0.1, 0.5, [1.2] * 5),
        (0.2, 0.9, [6.0] * 100),
    ):
        steady = steady_slot(slot, timeout, periods)
        assert steady > slot  # (each case widens: else the check below says nothing)
        fine: Wheel[int] = Wheel(slot)
        for _ in range(2000):
            k = rng.randrange(10**4, 10**7)  # loop times as on a host up for days
            # Sent a little after the steady wake-up at k * steady (up to a tenth of a slot:
            # a timeout that is not a multiple of the slot leaves less room than one).
            sent = k * steady + rng.uniform(0.0, slot / 10)
            end = fine.end_of(sent + timeout)
            assert end >= sent + timeout
            assert abs(end / steady - round(end / steady)) < 1e-6, (slot, timeout, k)


class _NoSockets:
    """The pinger, for an EchoStream that is only told its inventory (nothing is sent)."""

    def attach(self, loop: object) -> None:
        pass

    def bind_literal(self, target: object) -> bool:
        return True


async def test_the_stream_widens_its_slots_for_a_small_inventory_only() -> None:
    # regency: a POP per district and a router and an AP per village, default ping settings
    # (a steady echo every 30 s / 5 = 6 s). By hand: 1,010 devices send 168 echoes a second,
    # 16.8 in 100 ms (200 ms slots); 2,525 send 421, 21 in 50 ms and 42 in 100 ms (100 ms);
    # 5,050 send 842, 42 in 50 ms (50 ms, the slot of the defaults before this widening).
    stream = EchoStream(_NoSockets(), lambda obs: None)  # type: ignore[arg-type]
    try:
        # Steady slots (steady_slot, by hand as in the test below): 1,010 devices 1.2 s (202
        # echoes); 2,525 none wider (1.1 s would hold 463); 5,050 0.15 s (126; 0.35 s: 295).
        for districts, slot, steady in (
            (10, 0.2, 1.2),
            (25, 0.1, 0.1),
            (50, 0.05, 0.15),
            (10, 0.2, 1.2),
        ):
            inv = regency.build(districts=districts, villages=50, aps=1)
            assert len(inv.devices) == districts * 101
            due = {n: p.due for n, p in stream.probes.items()}
            stream.follow(inv)
            assert stream._sends.slot == slot
            assert stream._steady.slot == stream._rounds.slot == steady
            # Every device keeps its schedule across the change of slot (stream._set_slots),
            # and waits in the steady wheel (no burst here).
            assert len(stream.probes) == len(inv.devices)
            assert all(p.due is not None for p in stream.probes.values())
            assert all(p.due == due[n] for n, p in stream.probes.items() if n in due)
            waiting = {  # (an entry whose probe waits elsewhere, or was removed, is stale)
                id(p) for items in stream._steady._slots.values() for p in items if p.sched is items
            }
            assert waiting == {id(p) for p in stream.probes.values()}
    finally:
        stream.stop()
