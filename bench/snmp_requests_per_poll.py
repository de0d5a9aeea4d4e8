"""SNMP requests a poll, counted at the agent: run_bench's snmpd and every snmpsim recording.

Two agents, each counted by something other than netwatch's own counters:
- run_bench's agent: a lo-only net-snmp snmpd bound to 0.0.0.0 in a network namespace of this
  bench's own, agents 127.0.1.1..N, the profile detected as `netwatch run` does. Counted by
  snmpd itself: SNMPv2-MIB snmpInPkts (1.3.6.1.2.1.11.1.0) read with net-snmp's snmpget before
  and after each round (the second read counts itself: one subtracted).
- the committed recordings (tests/data/snmprec) served by snmpsim, each polled through a UDP
  relay of this bench's that counts the datagrams it forwards to snmpsim.
Each agent is polled --polls times; printed: the first poll's requests (detection, no rows hint)
and the later polls' mean (the steady poll). `--old` polls the way before predict.py (the
carrying GETBULK, its columns sized by the rows hint) for a before/after in one run.

    sudo .venv/bin/python bench/snmp_requests_per_poll.py [--polls 4] [--agents 20] [--old]

Counts only (no CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_bench

REPO = Path(__file__).resolve().parent.parent
PORT = 16171
IN_PKTS = "1.3.6.1.2.1.11.1.0"


def old_way() -> None:
    """Poll as before predict.py: no column is predicted (the carrying GETBULK path)."""
    try:
        from netwatch.collectors.snmp import predict
    except ImportError:  # the code before predict.py: nothing to switch off
        return
    predict.plan = lambda columns, budget: ([], [], list(columns))  # type: ignore[assignment]


def in_pkts(port: int) -> int:
    out = subprocess.run(
        ["snmpget", "-v2c", "-c", "public", "-m", "", "-Ovq", f"127.0.0.1:{port}", IN_PKTS],
        capture_output=True, text=True, check=True, timeout=10,
    )  # fmt: skip
    return int(out.stdout.split()[-1])


async def snmpd_rounds(agents: int, polls: int) -> None:
    from netwatch.collectors.snmp.collector import probe_target
    from netwatch.collectors.snmp.engine import SnmpEngine
    from netwatch.collectors.snmp.types import Target

    targets = [Target(f"127.0.1.{i + 1}", PORT, timeout=2.0, retries=1) for i in range(agents)]
    counts = []
    async with SnmpEngine() as engine:
        for _ in range(polls):
            before = await asyncio.to_thread(in_pkts, PORT)
            errors = 0
            for t in targets:
                obs = await probe_target("d", t, engine)
                errors += bool(obs.error or obs.partial_errors)
            after = await asyncio.to_thread(in_pkts, PORT)
            counts.append((after - before - 1) / agents)
            if errors:
                print(f"  {errors} polls with errors", flush=True)
    steady = sum(counts[1:]) / max(1, len(counts) - 1)
    print(f"snmpd (run_bench's agent, {agents} agents, snmpInPkts): first poll {counts[0]:.2f}, "
          f"later polls {steady:.2f} requests a poll {[round(c, 2) for c in counts]}",
          flush=True)  # fmt: skip


class Relay(asyncio.DatagramProtocol):
    """Forwards datagrams to upstream and its answers back to the last sender; counts them."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.forwarded = 0
        self.client: tuple[str, int] | None = None
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        if addr == self.upstream:
            if self.client is not None:
                self.transport.sendto(data, self.client)
            return
        self.client = addr
        self.forwarded += 1
        self.transport.sendto(data, self.upstream)


async def snmpsim_rounds(upstream: int, names: list[str], polls: int) -> None:
    from netwatch.collectors.snmp.collector import probe_target
    from netwatch.collectors.snmp.engine import SnmpEngine
    from netwatch.collectors.snmp.types import Target

    loop = asyncio.get_running_loop()
    transport, relay = await loop.create_datagram_endpoint(
        lambda: Relay(("127.0.0.1", upstream)), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    first_sum = steady_sum = 0.0
    try:
        async with SnmpEngine() as engine:
            for name in names:
                target = Target("127.0.0.1", port, community=name, timeout=5.0, retries=1)
                counts = []
                for _ in range(polls):
                    before = relay.forwarded
                    obs = await probe_target(name, target, engine)
                    counts.append(relay.forwarded - before)
                    if obs.error:
                        print(f"  {name}: {obs.error} {obs.message}", flush=True)
                steady = sum(counts[1:]) / max(1, len(counts) - 1)
                first_sum += counts[0]
                steady_sum += steady
                print(f"  {name:24s} first {counts[0]:3d}, later {steady:5.2f} {counts}",
                      flush=True)  # fmt: skip
    finally:
        transport.close()
    n = len(names)
    print(
        f"snmpsim recordings ({n}, relay count): first poll {first_sum / n:.2f}, "
        f"later polls {steady_sum / n:.2f} requests a poll (mean over recordings)",
        flush=True,
    )


def inner(a: argparse.Namespace) -> None:
    sys.path.insert(0, str(REPO))
    from tests.helpers.snmpd import running_snmpd
    from tests.helpers.snmpsim import running_snmpsim, snmprec_dir

    if a.old:
        old_way()
    with running_snmpd(host="0.0.0.0", port=PORT, extra_conf=["rocommunity public 127.0.0.0/8"]):
        asyncio.run(snmpd_rounds(min(a.agents, 250), a.polls))
    names = sorted(p.stem for p in snmprec_dir().glob("*.snmprec"))
    with running_snmpsim(snmprec_dir(), probe_community=names[0]) as (_, port):
        asyncio.run(snmpsim_rounds(port, names, a.polls))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polls", type=int, default=4)
    ap.add_argument("--agents", type=int, default=20)
    ap.add_argument("--old", action="store_true", help="poll as before predict.py")
    ap.add_argument("--in-netns", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if not a.in_netns:  # again, in a namespace of its own (only lo), removed after
        return run_bench.in_netns(__file__, sys.argv[1:])
    inner(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
