"""One grid of loop time for periodic timers, so that timers of different parts share wake-ups.

A timer armed `step` seconds from an arbitrary moment goes off in a turn of the event loop of
its own; armed at the next multiple of `step` instead, it goes off in the same turn as every
other timer on that grid (the echo stream's slots end on multiples of their width: 50 ms at
the defaults, 100 or 200 ms at small inventories; see collectors/icmp/wheel.py. The SNMP
deadline timer's 0.2 s step is a multiple of all three). A turn (a select, the timer heap)
costs ~25-30 µs whatever it runs: measured with bench/loop_census.py, 115-140 turns a second
at 1,000 devices.
"""

from __future__ import annotations

import math

GRID = 0.05  # seconds: the echo stream's slot at the default ping settings


def next_tick(now: float, step: float) -> float:
    """The first multiple of step after now (loop time): at most step seconds away."""
    return (math.floor(now / step) + 1) * step
