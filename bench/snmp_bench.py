"""SNMP device-poll benchmark: netwatch's engine vs prometheus-snmp-exporter vs plain pysnmp.

One device-poll = GET sysUpTime + GETBULK walks (max-repetitions 25) of ifTable and ifXTable
on a net-snmp snmpd that serves 24 veth interfaces (plus lo) in a test namespace. Every poller
runs inside that namespace with 50 polls in flight. Needs root (ip netns). `netwatch` walks
the two tables one after the other (`walk`), `netwatch_many` both in shared GETBULKs
(`walk_many`, 2 × 25 varbinds a request).

    .venv/bin/python bench/snmp_bench.py [--polls 1000] [--pysnmp-polls 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)
IF_TABLE = (1, 3, 6, 1, 2, 1, 2, 2)
IF_X_TABLE = (1, 3, 6, 1, 2, 1, 31, 1, 1)
CONCURRENCY = 50
PEER_CONFIG = REPO / "bench" / "peers"  # snmp_exporter's if_mib module (README.md there)


# ---- workers (run inside the namespace) -------------------------------------------------


def _usage() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _netwatch_worker(port: int, polls: int, many: bool = False) -> dict:
    from netwatch.collectors.snmp.engine import SnmpEngine
    from netwatch.collectors.snmp.types import Target

    target = Target("127.0.0.1", port, timeout=5, retries=2, max_repetitions=25)
    # One agent gets all 50 polls here; real devices keep the default in-flight bound.
    async with SnmpEngine(max_in_flight=CONCURRENCY * 2) as engine:
        await engine.get(target, [SYS_UPTIME])  # open the socket before measuring

        async def poll() -> int:
            got = await engine.get(target, [SYS_UPTIME])
            if many:
                both = await engine.walk_many(target, [IF_TABLE, IF_X_TABLE])
                return len(got) + sum(len(rows) for rows in both.values())
            a = await engine.walk(target, IF_TABLE)
            b = await engine.walk(target, IF_X_TABLE)
            return len(got) + len(a) + len(b)

        return await _drive(poll, polls)


async def _pysnmp_worker(port: int, polls: int) -> dict:
    from pysnmp.hlapi.v3arch import asyncio as hl

    engine = hl.SnmpEngine()
    community = hl.CommunityData("public", mpModel=1)
    transport = await hl.UdpTransportTarget.create(("127.0.0.1", port), timeout=5, retries=2)
    context = hl.ContextData()

    async def walk(root: tuple[int, ...]) -> int:
        n, last = 0, root
        while True:
            err, status, _, vbs = await hl.bulk_cmd(
                engine, community, transport, context, 0, 25,
                hl.ObjectType(hl.ObjectIdentity(".".join(map(str, last)))), lookupMib=False,
            )  # fmt: skip
            if err or int(status):
                raise RuntimeError(f"pysnmp: {err or status}")
            for oid, _value in vbs:
                oid = tuple(oid)
                if oid[: len(root)] != root:
                    return n
                n, last = n + 1, oid
            if not vbs:
                return n

    async def poll() -> int:
        err, status, _, vbs = await hl.get_cmd(
            engine, community, transport, context,
            hl.ObjectType(hl.ObjectIdentity("1.3.6.1.2.1.1.3.0")), lookupMib=False,
        )  # fmt: skip
        if err or int(status):
            raise RuntimeError(f"pysnmp: {err or status}")
        return len(vbs) + await walk(IF_TABLE) + await walk(IF_X_TABLE)

    await poll()
    result = await _drive(poll, polls)
    engine.close_dispatcher()
    return result


async def _drive(poll, polls: int) -> dict:  # type: ignore[no-untyped-def]
    sem = asyncio.Semaphore(CONCURRENCY)
    counts: list[int] = []

    async def one() -> None:
        async with sem:
            counts.append(await poll())

    cpu0, wall0 = _usage(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(polls)))
    cpu, wall = _usage() - cpu0, time.perf_counter() - wall0
    return {
        "polls": polls,
        "cpu_s": cpu,
        "wall_s": wall,
        "varbinds": counts[0],
        "varbinds_same": len(set(counts)) == 1,
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _scrape_worker(url: str, scrapes: int) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    def one(_: int) -> int:
        with urllib.request.urlopen(url, timeout=30) as resp:
            body = resp.read()
        return body.count(b"\nif") + body.count(b"\nsysUpTime")

    one(0)
    wall0 = time.perf_counter()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        samples = list(pool.map(one, range(scrapes)))
    return {"polls": scrapes, "wall_s": time.perf_counter() - wall0, "samples": samples[0]}


# ---- orchestration (host side) ------------------------------------------------------------


def _sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _worker(ns: str, *args: str) -> dict:
    cmd = ["ip", "netns", "exec", ns, sys.executable, __file__, "--worker", *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _exporter(ns: str, work: Path, snmp_port: int, scrapes: int) -> dict:
    from tests.helpers.snmpd import free_udp_port

    config = work / "snmp.yml"
    shutil.copy(PEER_CONFIG / "snmp_exporter_if_mib.yml", config)
    port = free_udp_port()  # the namespace has no listeners: any number is free there
    cmd = ["ip", "netns", "exec", ns, "prometheus-snmp-exporter", f"--config.file={config}",
           f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/snmp?module=if_mib&target=127.0.0.1:{snmp_port}"
        probe = [
            "ip",
            "netns",
            "exec",
            ns,
            sys.executable,
            "-c",
            f"import urllib.request; urllib.request.urlopen({url!r}, timeout=2).read()",
        ]
        deadline = time.monotonic() + 15
        while subprocess.run(probe, capture_output=True).returncode != 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("snmp_exporter did not start")
            time.sleep(0.1)
        cpu0 = _proc_cpu(proc.pid)
        result = _worker(ns, "scrape", url, str(scrapes))
        result["cpu_s"] = _proc_cpu(proc.pid) - cpu0
        rss = [ln for ln in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
               if ln.startswith("VmHWM")]  # fmt: skip
        result["max_rss_mib"] = int(rss[0].split()[1]) / 1024
        return result
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=1000)
    parser.add_argument("--pysnmp-polls", type=int, default=100)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "scrape":
            print(json.dumps(_scrape_worker(rest[0], int(rest[1]))))
        elif kind == "netwatch_many":
            print(json.dumps(asyncio.run(_netwatch_worker(int(rest[0]), int(rest[1]), True))))
        else:
            fn = _netwatch_worker if kind == "netwatch" else _pysnmp_worker
            print(json.dumps(asyncio.run(fn(int(rest[0]), int(rest[1])))))
        return

    from tests.helpers.snmpd import running_snmpd

    ns = f"nw-snmpbench-{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="nw-snmpbench-"))
    _sh("ip", "netns", "add", ns)
    try:
        _sh("ip", "-n", ns, "link", "set", "lo", "up")
        for i in range(12):  # 12 veth pairs, both ends inside: 24 interfaces
            _sh("ip", "-n", ns, "link", "add", f"va{i}", "type", "veth", "peer", "name", f"vb{i}")
            _sh("ip", "-n", ns, "link", "set", f"va{i}", "up")
            _sh("ip", "-n", ns, "link", "set", f"vb{i}", "up")
        with running_snmpd(netns=ns) as agent:
            results = {
                "netwatch": _worker(ns, "netwatch", str(agent.port), str(args.polls)),
                "netwatch_many": _worker(ns, "netwatch_many", str(agent.port), str(args.polls)),
                "snmp_exporter": _exporter(ns, work, agent.port, args.polls),
                "pysnmp": _worker(ns, "pysnmp", str(agent.port), str(args.pysnmp_polls)),
            }
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(work, ignore_errors=True)

    print(f"device-poll: GET sysUpTime + bulk walks of ifTable, ifXTable; {CONCURRENCY} in flight")
    print(f"varbinds per poll (netwatch): {results['netwatch']['varbinds']}, "
          f"(netwatch_many): {results['netwatch_many']['varbinds']}")  # fmt: skip
    print(f"{'poller':<14} {'polls':>6} {'CPU ms/poll':>12} {'polls/s':>9} {'peak RSS MiB':>13}")
    per_poll = {}
    for name, r in results.items():
        per_poll[name] = 1000 * r["cpu_s"] / r["polls"]
        print(f"{name:<14} {r['polls']:>6} {per_poll[name]:>12.2f} "
              f"{r['polls'] / r['wall_s']:>9.1f} {r['max_rss_mib']:>13.1f}")  # fmt: skip
    base = per_poll["snmp_exporter"]
    print(f"ratio netwatch/snmp_exporter: {per_poll['netwatch'] / base:.2f}x (target <= 1x)")
    print(f"ratio netwatch_many/snmp_exporter: {per_poll['netwatch_many'] / base:.2f}x")
    print(f"ratio pysnmp/snmp_exporter:   {per_poll['pysnmp'] / base:.2f}x")


if __name__ == "__main__":
    main()
