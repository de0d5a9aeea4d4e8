"""Requests a poll after a start-up burst: do varbind budgets cut by lost answers come back?

`netwatch run` at 50,000 devices starts 10,000 agents' first polls within a minute against one
snmpd while its own loop is loaded: answers come seconds late, time out, and a shared GETBULK
that times out is asked smaller (collectors/snmp/bulk.py). This bench makes such a burst on
purpose (every agent's first poll at once), then polls every agent again, round after round,
`--concurrency` at a time (no overload), and prints per round: requests a poll, timeouts, and
how many agents hold a cut budget. The run bench itself only shows the sum (requests a poll
per window); here the rounds after the burst are what is measured.

    sudo .venv/bin/python bench/snmp_requests_after_burst.py [--agents 1000] [--rounds 5]

Counts only (no CPU): the run of one `netwatch run`-like profile (detected, as in run_bench)
against a lo-only net-snmp snmpd in a namespace of its own, agents 127.0.x.y.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PORT = 16161


async def rounds(agents: int, count: int, concurrency: int) -> None:
    sys.path.insert(0, str(REPO))
    from netwatch.collectors.snmp.collector import probe_target
    from netwatch.collectors.snmp.engine import SnmpEngine
    from netwatch.collectors.snmp.types import Target

    targets = [Target(f"127.0.{i // 254}.{i % 254 + 1}", PORT, timeout=2.0, retries=1)
               for i in range(agents)]  # fmt: skip
    async with SnmpEngine() as engine:
        for r in range(count):
            sent, timeouts = engine.stats.sent, engine.stats.timeouts
            sem = asyncio.Semaphore(agents if r == 0 else concurrency)

            async def one(t: Target, sem: asyncio.Semaphore = sem) -> bool:
                async with sem:
                    return bool((await probe_target("d", t, engine)).error)

            failed = sum(await asyncio.gather(*(one(t) for t in targets)))
            caps = collections.Counter(
                "full" if s.bulk_cap is None else "cut" for s in engine._targets.values()
            )
            pace = "all at once (the burst)" if r == 0 else f"{concurrency} at a time"
            per_poll = (engine.stats.sent - sent) / agents
            lost = engine.stats.timeouts - timeouts
            print(f"round {r} ({pace}): {per_poll:5.2f} requests a poll, {lost} timeouts, "
                  f"{failed} failed polls; after it {caps['cut']} of {agents} agents with a "
                  "cut budget", flush=True)  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.inner:
        sys.path.insert(0, str(REPO))
        from tests.helpers.snmpd import running_snmpd

        with running_snmpd(
            host="0.0.0.0", port=PORT, extra_conf=["rocommunity public 127.0.0.0/8"]
        ):
            asyncio.run(rounds(min(a.agents, 60_000), a.rounds, a.concurrency))
        return
    ns = f"nw-snmp-burst-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, __file__, "--inner",
                        *sys.argv[1:]], check=True, timeout=900)  # fmt: skip
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


if __name__ == "__main__":
    main()
