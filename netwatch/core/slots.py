"""Where a scheduler slot lies in time, and APScheduler's timer run on the event loop.

Device jobs share slots (an interval and an offset, SLOT to SLOT_MAX wide) so that one
wake-up of APScheduler starts several device runs; the slots start on whole seconds of loop
time so those wake-ups fall in turns the loop makes anyway (core/ticks.py). Split from
core/scheduler.py, which runs the slots' device runs.
"""

from __future__ import annotations

import asyncio
import math
import time
import zlib
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from netwatch.core.ticks import GRID

SLOT = 0.1  # seconds; jobs share 100 ms slots (or wider) so one scheduler wake-up starts several
# A wake-up of APScheduler costs ~150-300 µs whatever it starts (measured with
# bench/loop_census.py: at 1,000 devices, 200 SNMP jobs a minute in 100 ms slots woke it 3-4
# times a second for one job each). Slots widen, up to SLOT_MAX, until a wake-up starts about
# JOBS_PER_WAKE jobs: the offset only spreads load over the interval, and spreading a few
# jobs finer than that buys nothing. From 20 jobs a second on (1,200 of a 60 s interval,
# 10,000 devices' SNMP) slots stay at SLOT.
SLOT_MAX = 1.0
JOBS_PER_WAKE = 4
# Slots start on whole seconds of loop time (plus their offsets, multiples of SLOT), so that
# APScheduler's wake-ups fall in turns the loop makes for the echo stream's slots and the
# other periodic timers anyway (core/ticks.py), not in turns of their own. A slot is due
# LEAD before that turn, so that it is due when the turn reads the wall clock; the timer is
# moved onto the grid when it is within SNAP of it (APScheduler arms it from the wall clock
# read before it started the due jobs: a little after the grid point).
LEAD = 0.0005
SNAP = 0.003


def origin_of(now: datetime) -> datetime:
    """LEAD before a whole second of loop time, in wall-clock time, within the second up to
    now: a second later is after now (without a running loop: the whole wall-clock second)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return now.replace(microsecond=0)
    phase = (time.time() - loop.time()) % 1.0  # wall clock at whole seconds of loop time
    stamp = now.timestamp()
    return datetime.fromtimestamp(math.floor(stamp - phase + LEAD) + phase - LEAD, UTC)


def spread_offset(job_id: str, interval: float, slot: float = SLOT) -> float:
    """A stable offset in [0, interval), a multiple of slot: the same job keeps its slot.

    A hash spreads jobs evenly over the interval, so 10,000 devices do not fire together;
    quantising to slots lets APScheduler start a slot's jobs in one wake-up instead of one
    wake-up per job (measured: its per-wake-up cost was a third of netwatch's CPU).
    """
    slots = max(1, int(interval / slot + 1e-9))
    return (zlib.crc32(job_id.encode()) % slots) * slot


def slot_for(jobs: int, interval: float) -> float:
    """The slot for `jobs` jobs sharing one interval: about JOBS_PER_WAKE jobs a wake-up, a
    multiple of SLOT from SLOT to SLOT_MAX (and never wider than the interval)."""
    wide = JOBS_PER_WAKE * interval / max(jobs, 1)
    steps = max(1, min(int(wide / SLOT + 1e-9), round(SLOT_MAX / SLOT)))
    return min(steps * SLOT, max(interval, SLOT))


class LoopScheduler(AsyncIOScheduler):
    """APScheduler's asyncio scheduler whose own timer starts the due jobs directly.

    AsyncIOScheduler's timer calls wakeup(), which goes through call_soon_threadsafe: a
    self-pipe write, one more turn of the loop and its read back, on every wake-up. That is
    for callers on other threads; the timer already runs on the loop (add_job and friends
    still use wakeup()).
    """

    def _start_timer(self, wait_seconds: float | None) -> None:
        self._stop_timer()
        if wait_seconds is not None:
            loop = self._eventloop
            now = loop.time()
            when = now + wait_seconds
            tick = round(when / GRID) * GRID  # slots are on it, LEAD before it (_origin)
            if tick > now and abs(when - tick) <= SNAP:
                when = tick
            self._timeout = loop.call_at(when, self._wake_on_loop)

    def _wake_on_loop(self) -> None:
        self._stop_timer()
        self._start_timer(self._process_jobs())
