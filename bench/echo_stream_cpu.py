"""In-process: CPU per echo of the echo stream (collectors/icmp/stream.py) on loopback.

Follows a synthetic inventory (districts of villages with a router and an AP, addresses on
127.x) at the default ping settings (an echo every 6 s per device), waits one period for
every device's first echo, then measures `getrusage()` (user + system, to the microsecond;
the kernel's loopback work is included) over --seconds and divides by the echoes sent
meanwhile (the pinger's payload serial counts them); python_us_per_echo is the event loop
thread's CPU (exact) less the time inside the sendmmsg/recvmmsg calls, per echo. The sink
only counts observations. Run as root (raw sockets):

    .venv/bin/python bench/echo_stream_cpu.py --devices 10000 25000 --seconds 10 [--netns]

--netns runs each measurement in a network namespace of its own (only `lo`), so other
processes' ICMP on the host's loopback does not reach the stream's raw socket.

--fping (the peer, in the same run and namespace, after the stream): `fping -l` pinging the
same addresses at the same period for as long, its CPU (getrusage of children) per echo it
sent. fping's loop mode keeps a sequence number per echo for 10 s: it refuses more than
~15,000 hosts at a 6 s period, so the peer runs only up to 10,000 devices.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NETNS = f"nw-echofast-{os.getpid()}"  # one of its own: benches may run side by side


def address(k: int) -> str:
    """The k-th device's loopback address: 127.a.b.c with c in 1..254."""
    return f"127.{1 + k // (254 * 256)}.{(k // 254) % 256}.{k % 254 + 1}"


async def measure(
    devices: int, seconds: float, with_fping: bool = False, with_parts: bool = False
) -> dict[str, object]:
    from netwatch.collectors.icmp import Pinger
    from netwatch.collectors.icmp.observation import PingObservation
    from netwatch.collectors.icmp.stream import EchoStream
    from tests.helpers import regency

    villages = max(1, (devices - 1) // 2)
    per = min(villages, 250)
    districts = -(-villages // per)
    inv = regency.build(districts=districts, villages=per, aps=1, address_of=address)
    seen: dict[str, int] = {}

    def sink(obs: object) -> None:
        assert isinstance(obs, PingObservation)
        seen[obs.event] = seen.get(obs.event, 0) + 1

    pinger = Pinger.open()
    stream = EchoStream(pinger, sink)
    in_calls = time_the_calls()
    parts = time_the_parts(stream) if with_parts else None
    try:
        stream.follow(inv, sink)
        period = inv.settings.ping.interval / inv.settings.ping.count
        await asyncio.sleep(period + 1.0)  # every device's first echo is out
        if parts is not None:
            for acc in parts.values():
                acc[:] = [0.0, 0]
        s0, t0, r0, c0 = pinger._serial, time.monotonic(), usage(), dict(seen)
        th0, k0 = time.thread_time(), in_calls[0]
        await asyncio.sleep(seconds)
        s1, t1, r1 = pinger._serial, time.monotonic(), usage()
        th1, k1 = time.thread_time(), in_calls[0]
    finally:
        stream.stop()
        pinger.close()
    echoes = (s1 - s0) & 0xFFFFFFFFFFFFFFFF
    user, system = r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime
    down = sum(1 for p in stream.probes.values() if p.up is not True)
    result: dict[str, object] = {}
    if with_fping:
        addresses = [d.address for d in inv.devices.values() if d.ping][:FPING_MAX_HOSTS]
        peer = fping_peer(addresses, period, inv.settings.ping.timeout, seconds)
        result["fping"] = peer
    us = (user + system) / echoes * 1e6 if echoes else float("nan")
    if with_fping:
        result["ratio_to_fping"] = round(us / peer["us_per_echo"], 2)
    if parts is not None:
        result["parts"] = {
            name: {
                "calls_per_s": round(n / (t1 - t0), 2),
                "us_per_call": round(spent / n * 1e6, 2) if n else 0.0,
                "us_per_s": round(spent / (t1 - t0) * 1e6, 1),
            }
            for name, (spent, n) in parts.items()
        }
        result["thread_us_per_s"] = round((th1 - th0) / (t1 - t0) * 1e6, 1)
    return {
        **result,
        "devices": len(stream.probes),
        "echoes": echoes,
        "seconds": t1 - t0,
        "user_s": user,
        "sys_s": system,
        "us_per_echo": us,
        "user_us_per_echo": user / echoes * 1e6 if echoes else float("nan"),
        "core_share": (user + system) / (t1 - t0),
        # The loop's thread, less the time inside sendmmsg/recvmmsg (the kernel's loopback
        # work, and ~1 µs of ctypes a call): the Python an echo costs, not tick-sampled.
        "python_us_per_echo": ((th1 - th0) - (k1 - k0)) / echoes * 1e6 if echoes else 0.0,
        "in_calls_us_per_echo": (k1 - k0) / echoes * 1e6 if echoes else 0.0,
        "not_up": down,
        "observations": sum(seen.values()) - sum(c0.values()),
    }


FPING_MAX_HOSTS = 10_000


def time_the_calls() -> list[float]:
    """Wrap the stream's sendmmsg and recvmmsg calls (batch.send_calls, mmsg.Inbox.receive)
    with a clock: [seconds inside them so far] (non-blocking calls: their wall time is CPU)."""
    from netwatch.collectors.icmp import batch
    from netwatch.collectors.icmp_wire import mmsg

    spent = [0.0]
    clock = time.perf_counter
    send, receive = batch.send_calls, mmsg.Inbox.receive

    def send_calls(*args: object) -> tuple[int, float, float]:
        t = clock()
        try:
            return send(*args)  # type: ignore[arg-type]
        finally:
            spent[0] += clock() - t

    def timed_receive(self: mmsg.Inbox, fd: int) -> int:
        t = clock()
        try:
            return receive(self, fd)
        finally:
            spent[0] += clock() - t

    batch.send_calls = send_calls  # type: ignore[assignment]
    mmsg.Inbox.receive = timed_receive  # type: ignore[method-assign]
    return spent


def time_the_parts(stream: object) -> dict[str, list]:
    """--parts: time the stream's parts, {name: [seconds, calls]}. Wall time (perf_counter)
    for the parts of a tick, which never wait (CPU unless the thread was preempted); the
    loop's select in thread CPU time (its wall time is mostly sleep). Nested: a tick's time
    includes its parts'. Each wrapper adds ~0.3 µs a call: for attribution, not totals."""
    from netwatch.collectors.icmp import batch, engine, reader
    from netwatch.collectors.icmp.stream import EchoStream

    parts: dict[str, list] = {}
    clock = time.perf_counter

    def timed(fn, name: str, timer=clock):  # type: ignore[no-untyped-def]
        acc = parts[name] = [0.0, 0]

        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            t = timer()
            try:
                return fn(*args, **kwargs)
            finally:
                acc[0] += timer() - t
                acc[1] += 1

        return call

    for owner, attr, name in [
        (EchoStream, "_tick", "tick"),
        (EchoStream, "_expire", "tick.expire"),
        (engine.Pinger, "drain", "tick.drain"),
        (EchoStream, "_close_rounds", "tick.close_rounds"),
        (EchoStream, "_emit", "tick.close_rounds.emit (and verdicts)"),
        (EchoStream, "_send_due", "tick.send_due"),
        (EchoStream, "_batcher_for", "tick.send_due.batcher_for"),
        (batch.Batcher, "send", "tick.send_due.batch_send"),
        (batch.Batcher, "chunk", "tick.send_due.batch_send.chunk (layout)"),
        (batch.Batcher, "_send_chunk", "tick.send_due.batch_send.send_chunk"),
        (batch, "send_calls", "tick.send_due.batch_send.send_chunk.sendmmsg"),
        (EchoStream, "_sent", "tick.send_due.batch_send.send_chunk.sent"),
        (batch, "read_replies", "tick.send_due.batch_send.read_replies"),
        (reader, "_match", "read.match"),
        (engine, "on_readable", "on_readable (reader callback, drain)"),
    ]:
        setattr(owner, attr, timed(getattr(owner, attr), name))
    from netwatch.collectors.icmp_wire import mmsg

    mmsg.Inbox.receive = timed(mmsg.Inbox.receive, "read.recvmmsg")  # type: ignore[method-assign]
    lag = stream._lag  # type: ignore[attr-defined]

    class Lag:
        observe = staticmethod(timed(lag.observe, "tick.lag_observe"))

    stream._lag = Lag()  # type: ignore[attr-defined]
    loop = asyncio.get_running_loop()
    selector = loop._selector  # type: ignore[attr-defined]
    selector.select = timed(selector.select, "loop.select (thread CPU)", time.thread_time)
    loop._run_once = timed(loop._run_once, "loop.run_once (thread CPU)", time.thread_time)  # type: ignore[attr-defined]
    return parts


def usage() -> resource.struct_rusage:
    """This process's CPU so far (os.times() counts in 10 ms ticks: ±0.25 µs an echo over 40 s
    at 50,000 devices; getrusage to the microsecond)."""
    return resource.getrusage(resource.RUSAGE_SELF)


def fping_peer(addresses: list[str], period: float, timeout: float, seconds: float) -> dict:
    """fping -l to addresses every period seconds for period + seconds: CPU per echo sent."""
    fping = shutil.which("fping")
    if fping is None:
        raise SystemExit("echo_stream_cpu: --fping needs fping (apt-get install fping)")
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write("\n".join(addresses) + "\n")
        f.flush()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        argv = [fping, "-l", "-p", str(int(period * 1000)), "-i", "0", "-r", "0",
                "-t", str(int(timeout * 1000)), "-q", "-f", f.name]  # fmt: skip
        # (-l prints every reply despite -q: to /dev/null, not through a pipe we would read)
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            _, err = proc.communicate(timeout=period + seconds)
        except subprocess.TimeoutExpired:
            proc.send_signal(2)  # SIGINT: fping prints its per-host summary and exits
            _, err = proc.communicate(timeout=30)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    sent = received = 0
    for line in err.splitlines():  # "127.1.0.1 : xmt/rcv/%loss = 5/5/0%, min/avg/max = ..."
        if "xmt/rcv" in line:
            xmt, rcv = line.split("=")[1].split("/")[:2]
            sent, received = sent + int(xmt), received + int(rcv)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "peer": "fping -l",
        "hosts": len(addresses),
        "echoes": sent,
        "received": received,
        "us_per_echo": cpu / sent * 1e6 if sent else float("nan"),
        "user_us_per_echo": (after.ru_utime - before.ru_utime) / sent * 1e6 if sent else 0.0,
    }


def in_netns(argv: list[str]) -> int:
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    try:
        subprocess.run(["ip", "-n", NETNS, "link", "set", "lo", "up"], check=True)
        cmd = ["ip", "netns", "exec", NETNS, sys.executable, __file__, *argv]
        return subprocess.run(cmd).returncode
    finally:
        subprocess.run(["ip", "netns", "del", NETNS], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, nargs="+", default=[10_000])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--netns", action="store_true", help="each run in a namespace of its own")
    ap.add_argument("--fping", action="store_true", help="then fping -l, the peer (<= 10k)")
    ap.add_argument("--parts", action="store_true", help="time the stream's parts (overhead)")
    args = ap.parse_args()
    for n in args.devices:
        if args.netns:
            argv = ["--devices", str(n), "--seconds", str(args.seconds)]
            argv += ["--fping"] if args.fping else []
            argv += ["--parts"] if args.parts else []
            if in_netns(argv):
                return 1
            continue
        print(json.dumps(asyncio.run(measure(n, args.seconds, args.fping, args.parts))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
