"""The scheduler's own CPU per device run: N device jobs of one interval, a collector that
returns at once (no I/O), after one interval of warm-up. Main-thread CPU (thread_time) per run
and per second: what APScheduler, the slots, the tasks and the self-metrics cost per poll.

At 50,000 devices SNMP runs 10,000 jobs a minute (~167 runs a second, ~17 in each 100 ms
slot): `--devices 3333 --interval 20` has the same rate and density in a shorter warm-up.
Runs the `netwatch` this interpreter imports (PYTHONPATH=<a copy of another commit> to compare).

    .venv/bin/python bench/scheduler_cost.py [--devices 3333] [--interval 20] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netwatch.core.model import Device, Role
from netwatch.core.scheduler import Scheduler
from tests.core.inventories import make_inventory


class Instant:
    """A collector whose poll returns at once: only the scheduling is measured."""

    name = "instant"

    def __init__(self, interval: float) -> None:
        self._interval = interval

    def applies(self, device: Device) -> bool:
        return True

    def interval(self, device: Device) -> float:
        return self._interval

    async def collect(self, device: Device) -> str:
        return device.name


async def measure(devices: int, interval: float, seconds: float) -> dict[str, float]:
    inventory = make_inventory(
        {
            f"35.10.07.{2000 + i}": [(f"d{i}", Role.ROUTER, f"127.0.{i // 250}.{i % 250 + 1}")]
            for i in range(devices)
        }
    )
    seen: list[str] = []
    scheduler = Scheduler([Instant(interval)], seen.append)
    scheduler.start(inventory)
    await asyncio.sleep(interval + 2)  # every job has run once: steady state
    runs0, cpu0, wall0 = len(seen), time.thread_time(), time.monotonic()
    await asyncio.sleep(seconds)
    runs, cpu, wall = len(seen) - runs0, time.thread_time() - cpu0, time.monotonic() - wall0
    await scheduler.shutdown()
    per_run = cpu / runs * 1e6
    return {"runs_per_s": runs / wall, "cpu_ms_per_s": cpu / wall * 1e3, "us_per_run": per_run}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=3333)
    ap.add_argument("--interval", type=float, default=20.0)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # no line per late start-up run
    r = asyncio.run(measure(args.devices, args.interval, args.seconds))
    print(f"{args.devices} jobs every {args.interval:g} s: {r['runs_per_s']:.1f} runs/s, "
          f"CPU {r['cpu_ms_per_s']:.2f} ms/s, {r['us_per_run']:.1f} µs a run")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
