"""Benchmark: trap → notification for an ONU that goes offline (issue 11 target: under 5 s).

    flock /work/bench.lock .venv/bin/python bench/trap_detect_bench.py [--n 20]

`netwatch run` watches a ZTE OLT served by snmpsim (synthetic ONU table, the ONU state
writable), SNMP polls once an hour; each round sets the village's ONU to dying gasp with
net-snmp's snmpset, sends a linkDown trap with snmptrap from the OLT's address, and times until
the webhook sink has the firing notification; then back online, trap, and the resolved one.
The trap only asks for a poll: what is timed is trap → re-poll → evaluation → outbox →
webhook. No peer: snmp_exporter and Prometheus have no trap path (their detection is the
scrape interval plus the rule's `for`). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.cause_lab import ZTE_STATE, Lab, running_lab, until  # noqa: E402


def _count(lab: Lab, event: str) -> int:
    return sum(1 for r in lab.hooks("VillageOnuOffline") if r.json()["event"] == event)


async def rounds(n: int) -> tuple[list[float], list[float]]:
    fire: list[float] = []
    resolve: list[float] = []
    # Flapping detection off: every round is a real change the bench wants notified.
    extra = ", flap_threshold: 100000"
    with tempfile.TemporaryDirectory(prefix="nw-trapbench-") as tmp:
        async with running_lab(Path(tmp), alerting=extra) as lab:
            for _ in range(n):
                for state, event, out in ((4, "firing", fire), (3, "resolved", resolve)):
                    before = _count(lab, event)
                    lab.set("olt", f"{ZTE_STATE}.1", state)
                    sent = lab.trap("olt")
                    await until(lambda e=event, b=before: _count(lab, e) > b, 30, event)
                    got = [r for r in lab.hooks("VillageOnuOffline") if r.json()["event"] == event]
                    out.append(got[-1].time - sent)
                await asyncio.sleep(0.3)
    return fire, resolve


def summary(name: str, xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=20) if len(xs) > 1 else xs * 19
    return (
        f"{name:<10} n={len(xs)}  median {statistics.median(xs) * 1000:.0f} ms  "
        f"p95 {q[18] * 1000:.0f} ms  max {max(xs) * 1000:.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="offline/online rounds")
    args = ap.parse_args()
    t0 = time.monotonic()
    fire, resolve = asyncio.run(rounds(args.n))
    print(summary("firing", fire))
    print(summary("resolved", resolve))
    print(f"target: firing under 5000 ms -> {'met' if max(fire) < 5 else 'NOT met'}")
    print(f"wall {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    main()
