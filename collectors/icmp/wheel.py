"""The echo stream's timers: a wheel of time slots, and echo deadlines batched per slot.

What falls due in one slot goes in one wake-up of the stream, never before its time: a slot
is numbered by its end (time / slot, rounded up). At 50,000 devices a heap entry per echo
cost more than the send itself; a list append per item and a heap operation per slot do not.
A slot is a quarter of the shortest time the stream keeps (burst spacing, timeout, steady
period), between 10 and 50 ms: 50 ms at the defaults. Each wake-up starts with cold caches on
a shared machine; 10 ms slots cost 1.6–1.8 times the CPU per echo at 10,000 devices, 25 ms
1.07 times at 25,000 (issue 10, measured). An echo, a loss or a round end is at most one
slot late, never early.

A small inventory has few echoes in each slot (8 at 1,000 devices and the defaults), and a
wake-up's cost is mostly its own: the loop's turn, the reply read it leads to, cold caches
(bench/loop_census.py: ~400 µs a wake-up at 1,000 devices, 20 a second). So the slot
doubles, up to WIDEST, while fewer than FEW steady echoes fall in one: at the default
settings 200 ms below 1,920 devices, 100 ms below 3,840, 50 ms from there on. What a wider
slot delays, and by how much at most (one slot, never earlier than due, as above):
- a send: each echo leaves at most one slot after it was due. A burst keeps its cadence from
  the due times (stream.py `_next`), and a slot is never wider than the spacing, so a
  burst's echoes fall in successive slots, never two in one wake-up (at the defaults the
  widths 50, 100 and 200 ms divide the 200 ms spacing: they leave exactly `spacing` apart);
- a loss: known at most one slot after its timeout ran out (1 s at the defaults), and a
  slot is never wider than a quarter of the timeout;
- a verdict *down*: the steady echo's send and loss and the last burst echo's send and loss
  may each be one slot late (the burst's cadence does not add the slots up), so at most
  three to four slots: ~0.6–0.8 s on a 5–11 s detection at 1,000 devices, where 50 ms
  slots add ~0.15–0.2 s (docs/alert_engine.md);
- a round end: one slot on a 30 s round.
RTTs are not affected (the kernel's timestamps). A burst's extra echoes (an outage) only add
echoes to the slots: the width is chosen from the steady rate, at each reload.

Steady echoes and round ends go in slots of their own, wider still (steady_slot), while
fewer than 2 * FEW steady echoes fall in a slot: a multiple of the slot that divides the
time from a slot's start to the end of the slot its echoes' deadlines fall in (1.2 s with a
1 s timeout and 200 ms slots), as wide as holds STEADY_FEW steady echoes and a quarter of
the shortest period. So the losses of a steady wake-up's echoes are known at a later steady
wake-up, not at one of their own: at 1,000 devices one wake-up every 1.2 s sends ~200 echoes
instead of one every 200 ms ~33 (bench/echo_stream_cpu.py: 11 instead of 22 µs an echo,
about the 50,000-device cost; at 10,000 devices, 83 echoes in a 50 ms slot already cost
that, and 250 in 0.15 s measured no better). At the defaults: 1.2 s up to 1,280 devices, 0.6
s to 1,920; none wider than the slot from 1,920 to 3,840 (1.1 s, the only multiple of 100 ms
that divides 1.1 s, holds too many); 0.35 s to 4,388, 0.15 s below 7,680, the slot itself
from there on. What it delays: nothing that detection waits for. A device's steady echoes
still leave one period apart (each at most one steady slot after its due time, the same
amount every period when the slot divides the period), so a fault at a random moment still
waits 0-6 s for the next one; its loss, the burst's echoes and their losses keep the slot
above. A round ends at most one steady slot late (1.2 s on a 30 s round). Bursts, retries
and parents' checks keep the slot above (or go at once).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from netwatch.collectors.icmp.probe_state import Probe
    from netwatch.collectors.icmp_wire.sockets import EchoSocket

MAX_SLOT = 0.05  # seconds: a quarter of the shortest time, at most (before any widening)
MIN_SLOT = 0.01
WIDEST = 0.2  # seconds: a slot widened for a small inventory, at most (the default spacing)
FEW = 32  # steady echoes a slot: below this the slot doubles (see the module's docstring)
STEADY_FEW = 256  # steady echoes a steady slot at most (batch.CHUNK: one chunk of sends)
T = TypeVar("T")


def slot_for(spacing: float, timeout: float, periods: Iterable[float] = ()) -> float:
    """The slot for a stream with that burst spacing and timeout whose devices send a steady
    echo every period seconds each (one period per device)."""
    periods = list(periods)
    slot = min(MAX_SLOT, max(MIN_SLOT, min([spacing, timeout, *periods]) / 4))
    rate = sum(1 / p for p in periods)  # steady echoes a second
    widest = min(WIDEST, spacing, timeout / 4, *(p / 4 for p in periods))
    while 2 * slot <= widest * (1 + 1e-9) and rate * slot < FEW:
        slot *= 2
    return slot


def steady_slot(slot: float, timeout: float, periods: Iterable[float] = ()) -> float:
    """The slot of steady echoes and round ends for a stream whose other timers use slot (see
    the module's docstring): while slot holds fewer than 2 * FEW steady echoes, slot times the
    largest m that divides n, the slots from a slot's start to the end of the slot its
    echoes' deadlines fall in, with m * slot at most a quarter of every period and holding at
    most STEADY_FEW steady echoes."""
    periods = list(periods)
    rate = sum(1 / p for p in periods)  # steady echoes a second
    if rate * slot >= 2 * FEW:
        return slot  # enough echoes a wake-up already (10,000 devices: 83 in 50 ms)
    # An echo sent just after a slot boundary (a wake-up is never early) times out in the
    # slot that ends n slots after that boundary; the float tolerance keeps 1 s / 0.2 s at 5.
    n = math.floor(timeout / slot * (1 + 1e-9)) + 1
    widest = min([p / 4 for p in periods], default=math.inf)
    best = 1
    for m in range(2, n + 1):
        if n % m == 0 and m * slot <= widest * (1 + 1e-9) and rate * m * slot <= STEADY_FEW:
            best = m
    return round(best * slot, 9)  # (6 * 0.2 is 1.2000000000000002)


class Wheel(Generic[T]):
    """Items due at given times, released by slot: a list per slot and a heap of the slots."""

    __slots__ = ("_heap", "_slots", "slot")

    def __init__(self, slot: float = MAX_SLOT) -> None:
        self.slot = slot  # seconds
        self._slots: dict[int, list[T]] = {}
        self._heap: list[int] = []

    def add(self, at: float, item: T) -> bool:
        """Add item due at at; True when it opened a slot (the caller's timer may be later)."""
        slot = math.ceil(at / self.slot)
        items = self._slots.get(slot)
        if items is None:
            self._slots[slot] = [item]
            heapq.heappush(self._heap, slot)
            return True
        items.append(item)
        return False

    def place(self, at: float) -> tuple[list[T], bool]:
        """The list of the slot at falls in, and whether it was opened now (as add)."""
        slot = math.ceil(at / self.slot)
        items = self._slots.get(slot)
        if items is None:
            items = self._slots[slot] = []
            heapq.heappush(self._heap, slot)
            return items, True
        return items, False

    def due(self, now: float) -> Iterator[list[T]]:
        """The items of every slot that has begun by now, a slot's list at a time."""
        heap, slots = self._heap, self._slots
        # asyncio may run a timer a clock tick early: a slot whose end is now counts as begun.
        last = math.floor(now / self.slot + 1e-6)
        while heap and heap[0] <= last:
            yield slots.pop(heapq.heappop(heap))

    def next_at(self) -> float:
        """The end of the earliest slot in use (inf when empty)."""
        return self._heap[0] * self.slot if self._heap else math.inf

    def end_of(self, at: float) -> float:
        """The end of the slot at falls in: when a timer for at goes off."""
        return math.ceil(at / self.slot) * self.slot

    def clear(self) -> None:
        self._slots.clear()
        self._heap.clear()


class Expiry:
    """The echoes on one socket whose deadlines end in one slot: lost unless answered by at.

    seqs are their sequence numbers; first..last the monotonic send times they span (a
    pending entry of that number sent outside it is a later echo that reused the number).
    lost: echoes known lost at the send (a firewall refused them), reported at the deadline
    like any other.
    """

    __slots__ = ("at", "first", "last", "lost", "seqs", "slot", "sock")

    def __init__(self, slot: float, sock: EchoSocket, sent: float) -> None:
        self.slot = slot  # the end of the slot, seconds
        self.sock = sock
        self.at = 0.0  # the latest deadline in it
        self.first = self.last = sent
        self.seqs: list[int] = []
        self.lost: list[tuple[Probe, float]] = []  # (probe, wall-clock send time)
