"""SNMP device-poll CPU: netwatch's collector vs prometheus-snmp-exporter (if_mib), same snmpd.

A private network namespace (root) holds 12 veth pairs (24 interfaces + lo; `--veths`) and one
net-snmp snmpd on 127.0.0.1; both pollers run inside it and poll that agent with 50 at a time.
CPU is read from each poller's own /proc/<pid>/stat (snmpd's CPU is not counted).

    sudo .venv/bin/python bench/snmp_poll_bench.py [--polls 1000] [--profiles if-mib,generic]
        [--no-peer] [--bulk-varbinds 0,100] [--veths 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PEER_CONFIG = REPO / "bench" / "peers" / "snmp_exporter_if_mib.yml"  # README.md there
TICK = os.sysconf("SC_CLK_TCK")
SNMPD_PORT, EXPORTER_PORT, CONCURRENCY = 16161, 19116, 50


def sh(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def netwatch_polls(
    n: int, profile: str, bulk_varbinds: int = 100, interfaces: int = 25
) -> dict[str, float]:
    """n polls of the agent through `profile`, 50 at a time: CPU, PDUs and varbinds per poll."""
    sys.path.insert(0, str(REPO))
    from netwatch.collectors.snmp.collector import probe_target
    from netwatch.collectors.snmp.engine import SnmpEngine
    from netwatch.collectors.snmp.types import Target

    target = Target("127.0.0.1", SNMPD_PORT, community="public", timeout=2.0, retries=1,
                    bulk_varbinds=bulk_varbinds)  # fmt: skip
    sem = asyncio.Semaphore(CONCURRENCY)
    errors = 0
    async with SnmpEngine() as engine:
        first = await probe_target("d", target, engine, None, profile)
        assert first.error is None, first.message
        assert len(first.interfaces) == interfaces, len(first.interfaces)
        received0 = engine.stats.received
        await probe_target("d", target, engine, None, profile)
        replies = engine.stats.received - received0

        async def one() -> None:
            nonlocal errors
            async with sem:
                obs = await probe_target("d", target, engine, None, profile)
                errors += bool(obs.error)

        sent0 = engine.stats.sent
        t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        await asyncio.gather(*(one() for _ in range(n)))
        c1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        pdus = engine.stats.sent - sent0
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    return {"cpu_ms_per_poll": cpu / n * 1000, "wall_s": t1 - t0, "errors": errors,
            "pdus_per_poll": pdus / n, "replies_per_poll": replies}  # fmt: skip


def exporter_polls(n: int) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="nw-bench-exp-"))
    proc = subprocess.Popen(
        ["prometheus-snmp-exporter", f"--config.file={PEER_CONFIG}",
         f"--web.listen-address=127.0.0.1:{EXPORTER_PORT}"],
        stdout=subprocess.DEVNULL, stderr=(work / "log").open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{EXPORTER_PORT}/snmp?module=if_mib&target=127.0.0.1:{SNMPD_PORT}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                body = urllib.request.urlopen(url, timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert "ifHCInOctets" in body

        async def run() -> None:
            loop = asyncio.get_running_loop()
            sem = asyncio.Semaphore(CONCURRENCY)

            async def one() -> None:
                async with sem:
                    await loop.run_in_executor(None, lambda: urllib.request.urlopen(url).read())

            await asyncio.gather(*(one() for _ in range(n)))

        c0, t0 = cpu_seconds(proc.pid), time.perf_counter()
        from concurrent.futures import ThreadPoolExecutor

        loop = asyncio.new_event_loop()
        loop.set_default_executor(ThreadPoolExecutor(CONCURRENCY))
        loop.run_until_complete(run())
        loop.close()
        c1, t1 = cpu_seconds(proc.pid), time.perf_counter()
        return {"cpu_ms_per_poll": (c1 - c0) / n * 1000, "wall_s": t1 - t0}
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def inner(n: int, profiles: list[str], peer: bool, budgets: list[int], veths: int) -> None:
    """Runs inside the namespace: the pollers, one after the other, then prints JSON."""
    results = {}
    for p in profiles:
        for b in budgets:
            name = f"netwatch_{p}" + (f" bulk_varbinds={b}" if len(budgets) > 1 else "")
            results[name] = asyncio.run(netwatch_polls(n, p, b, 1 + 2 * veths))
    if peer:
        results["snmp_exporter_if_mib"] = exporter_polls(n)
    print(json.dumps(results))


def outer(n: int, profiles: list[str], peer: bool, budgets: list[int], veths: int) -> None:
    ns = f"nw-bench-snmp-{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="nw-bench-snmpd-"))
    snmpd = None
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        for i in range(veths):
            sh("ip", "-n", ns, "link", "add", f"va{i}", "type", "veth", "peer", "name", f"vb{i}")
            sh("ip", "-n", ns, "link", "set", f"va{i}", "up")
            sh("ip", "-n", ns, "link", "set", f"vb{i}", "up")
        (work / "snmpd.conf").write_text("rocommunity public 127.0.0.1\n")
        snmpd = subprocess.Popen(
            ["ip", "netns", "exec", ns, "snmpd", "-f", "-Lf", str(work / "log"), "-C", "-c",
             str(work / "snmpd.conf"), "-m", "", f"udp:127.0.0.1:{SNMPD_PORT}"],
            env={**os.environ, "SNMP_PERSISTENT_DIR": str(work / "p")},
        )  # fmt: skip
        probe = ["ip", "netns", "exec", ns, "snmpget", "-v2c", "-c", "public", "-t", "0.2",
                 "-r", "0", "-m", "", f"127.0.0.1:{SNMPD_PORT}", "1.3.6.1.2.1.1.3.0"]  # fmt: skip
        deadline = time.monotonic() + 10
        while subprocess.run(probe, capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("snmpd did not start")
            time.sleep(0.05)
        out = subprocess.run(
            ["ip", "netns", "exec", ns, sys.executable, __file__, "--inner", "--polls", str(n),
             "--profiles", ",".join(profiles), "--bulk-varbinds", ",".join(map(str, budgets)),
             "--veths", str(veths),
             *([] if peer else ["--no-peer"])],
            check=True, capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        res = json.loads(out.stdout.strip().splitlines()[-1])
        peer_ms = res.get("snmp_exporter_if_mib", {}).get("cpu_ms_per_poll")
        print(f"{n} device-polls of snmpd with {1 + 2 * veths} interfaces, {CONCURRENCY} at a time")
        for name, r in res.items():
            extra = f", {r['pdus_per_poll']:.1f} PDUs/poll" if "pdus_per_poll" in r else ""
            ratio = f" ({r['cpu_ms_per_poll'] / peer_ms:4.2f}× snmp_exporter)" if peer_ms else ""
            print(f"  {name:<38} {r['cpu_ms_per_poll']:6.2f} CPU ms/poll{ratio}{extra}, "
                  f"wall {r['wall_s']:.1f} s, errors {r.get('errors', 0)}")  # fmt: skip
    finally:
        if snmpd is not None:
            snmpd.send_signal(signal.SIGTERM)
            snmpd.wait(timeout=10)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--polls", type=int, default=1000)
    ap.add_argument(
        "--profiles",
        default="if-mib,generic",
        help="netwatch profiles to poll with, comma-separated (e.g. linux)",
    )
    ap.add_argument("--no-peer", action="store_true", help="skip snmp_exporter")
    ap.add_argument(
        "--bulk-varbinds",
        default="100",
        help="snmp.bulk_varbinds values to poll with, comma-separated "
        "(0: one column per walk, as before 2026-12)",
    )
    ap.add_argument("--veths", type=int, default=12, help="veth pairs in the namespace")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    names = [p for p in a.profiles.split(",") if p]
    budgets = [int(b) for b in a.bulk_varbinds.split(",")]
    (inner if a.inner else outer)(a.polls, names, not a.no_peer, budgets, a.veths)
