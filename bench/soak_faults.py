"""Fault injectors and checkers of the soak benchmark (bench/soak.py); no netwatch imports.

Injectors: a scrape storm (many concurrent /metrics from several source addresses), a trap
flood (hand-encoded SNMPv2c traps: valid, wrong community, unknown sender, too big, garbage),
a reload storm (good and broken config files in turn), a disk filler. Checkers: histogram
quantiles by window, notification truth, gaps in stored points. The scrape storm also runs as
its own process (`python bench/soak_faults.py scrape-storm ...`) so its CPU is not the bench's.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import itertools
import json
import math
import os
import random
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# --- SNMPv2c trap encoding (RFC 3416 §3, X.690 BER): independent of netwatch's codec --------

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
SYS_UPTIME_0 = "1.3.6.1.2.1.1.3.0"
SNMP_TRAP_OID_0 = "1.3.6.1.6.3.1.1.4.1.0"


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _int(tag: int, value: int) -> bytes:
    return _tlv(tag, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([arcs[0] * 40 + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def v2c_trap(community: str, request_id: int, trap_oid: str = LINK_DOWN, pad: int = 0) -> bytes:
    """An SNMPv2-Trap-PDU: sysUpTime.0, snmpTrapOID.0 (and an OCTET STRING of pad bytes)."""
    binds = _tlv(0x30, _oid(SYS_UPTIME_0) + _int(0x43, 12345))
    binds += _tlv(0x30, _oid(SNMP_TRAP_OID_0) + _oid(trap_oid))
    if pad:
        binds += _tlv(0x30, _oid("1.3.6.1.2.1.2.2.1.2.1") + _tlv(0x04, b"x" * pad))
    pdu = _tlv(0xA7, _int(0x02, request_id) + _int(0x02, 0) + _int(0x02, 0) + _tlv(0x30, binds))
    return _tlv(0x30, _int(0x02, 1) + _tlv(0x04, community.encode()) + pdu)


@dataclass
class TrapFloodResult:
    sent: dict[str, int] = field(default_factory=dict)  # kind -> datagrams sent
    seconds: float = 0.0


def trap_flood(
    target: tuple[str, int],
    device: str,
    community: str,
    foreign: str,
    rate: float,
    seconds: float,
    max_datagrams: int = 200_000,
) -> TrapFloodResult:
    """Send a mix of datagrams at `rate` per second for `seconds` (bounded by max_datagrams).

    Kinds, in turn: valid linkDown from `device`, wrong community from `device`, valid from
    the `foreign` address (not in the inventory), too big (16 KB), random garbage."""
    rng = random.Random(14)
    from_device = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    from_device.bind((device, 0))
    from_foreign = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    from_foreign.bind((foreign, 0))
    kinds = ("valid", "bad_credentials", "unknown_sender", "too_big", "garbage")
    result = TrapFloodResult(sent=dict.fromkeys(kinds, 0))
    t0 = time.monotonic()
    end = t0 + seconds
    n = 0
    try:
        while n < max_datagrams and (now := time.monotonic()) < end:
            due = t0 + n / rate
            if due > now:
                time.sleep(min(due - now, 0.05))
                continue
            kind = kinds[n % len(kinds)]
            if kind == "valid":
                from_device.sendto(v2c_trap(community, n), target)
            elif kind == "bad_credentials":
                from_device.sendto(v2c_trap(community + "-wrong", n), target)
            elif kind == "unknown_sender":
                from_foreign.sendto(v2c_trap(community, n), target)
            elif kind == "too_big":
                from_device.sendto(v2c_trap(community, n, pad=16_000), target)
            else:
                from_device.sendto(b"\x01" + rng.randbytes(rng.randrange(8, 400)), target)
            result.sent[kind] += 1
            n += 1
    finally:
        from_device.close()
        from_foreign.close()
    result.seconds = time.monotonic() - t0
    return result


def udp_receive_errors() -> int:
    """RcvbufErrors of this network namespace (/proc/net/snmp, Udp:): datagrams the kernel
    dropped because a socket's buffer was full."""
    lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines()]
    head, values = [ln for ln in lines if ln and ln[0] == "Udp:"][:2]
    return int(values[head.index("RcvbufErrors")])


# --- scrape storm ---------------------------------------------------------------------------


async def _storm(url: str, sources: Sequence[str], per_source: int, seconds: float) -> dict:
    import aiohttp

    statuses: dict[str, int] = {}
    latencies: list[float] = []
    rejected_latencies: list[float] = []  # the fast 503s beyond web.max_concurrent_scrapes
    sizes: list[int] = []
    end = time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession) -> None:
        for _ in range(10_000):  # bounded; the deadline ends it first
            if time.monotonic() >= end:
                return
            t = time.monotonic()
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=120)) as r:
                    body = await r.read()
                    key = str(r.status)
                    if r.status == 200:
                        sizes.append(len(body))
                    elif r.status == 503 and "Retry-After" not in r.headers:
                        key = "503 without Retry-After"
            except (TimeoutError, aiohttp.ClientError) as exc:
                key = type(exc).__name__
            statuses[key] = statuses.get(key, 0) + 1
            # The clients retry at once, ignoring Retry-After: a storm, not a polite scraper.
            (rejected_latencies if key == "503" else latencies).append(time.monotonic() - t)

    sessions = [
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(src, 0), limit=per_source))
        for src in sources
    ]
    try:
        await asyncio.gather(*(client(s) for s in sessions for _ in range(per_source)))
    finally:
        for s in sessions:
            await s.close()
    latencies.sort()
    rejected_latencies.sort()
    rl = rejected_latencies
    return {
        "concurrency": per_source * len(sources),
        "requests": len(latencies) + len(rl),
        "statuses": statuses,
        "latency_p50_s": round(latencies[len(latencies) // 2], 3) if latencies else None,
        "latency_max_s": round(latencies[-1], 3) if latencies else None,
        "rejected_latency_p50_s": round(rl[len(rl) // 2], 4) if rl else None,
        "rejected_latency_max_s": round(rl[-1], 4) if rl else None,
        "body_bytes_min": min(sizes) if sizes else 0,
    }


def scrape_storm(url: str, sources: Sequence[str], per_source: int, seconds: float) -> dict:
    """per_source concurrent scrape loops from each source address for `seconds`."""
    return asyncio.run(_storm(url, sources, per_source, seconds))


# --- reload storm -----------------------------------------------------------------------------


def post(url: str, timeout: float = 300) -> int:
    req = urllib.request.Request(url, data=b"", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code
    except OSError:
        return -1


def reload_storm(
    url: str, config: Path, good: str, bad: str, seconds: float, burst: int = 3, rounds: int = 40
) -> list[tuple[str, list[int]]]:
    """Alternate the broken and the good file; each turn `burst` concurrent POST /-/reload.

    Returns (which file, statuses) per turn; ends with the good file in place and loaded."""
    out: list[tuple[str, list[int]]] = []
    end = time.monotonic() + seconds
    for i in range(rounds):
        if time.monotonic() >= end:
            break
        which = "bad" if i % 2 == 0 else "good"
        config.write_text(bad if which == "bad" else good, encoding="utf-8")
        statuses: list[int] = [0] * burst

        def one(k: int, box: list[int] = statuses) -> None:
            box[k] = post(url)

        threads = [threading.Thread(target=one, args=(k,)) for k in range(burst)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=320)
        out.append((which, statuses))
    config.write_text(good, encoding="utf-8")
    out.append(("good-final", [post(url)]))
    return out


# --- disk full --------------------------------------------------------------------------------


def fill_disk(directory: Path, max_bytes: int) -> int:
    """Write a filler file until ENOSPC (bounded by max_bytes); returns bytes written."""
    chunk = b"\0" * (1 << 20)
    written = 0
    path = directory / "soak-filler"
    with open(path, "wb", buffering=0) as fh:
        while written < max_bytes:
            try:
                written += fh.write(chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                # Fill the last partial chunk too, a page at a time.
                for _ in range(len(chunk) // 4096):
                    try:
                        written += fh.write(b"\0" * 4096)
                    except OSError:
                        break
                break
    return written


def free_disk(directory: Path) -> None:
    (directory / "soak-filler").unlink(missing_ok=True)


# --- checkers ---------------------------------------------------------------------------------

Buckets = dict[float, float]  # le -> cumulative count


def quantile(buckets: Buckets, q: float) -> tuple[float, float]:
    """(bucket upper bound holding quantile q, Prometheus histogram_quantile interpolation)."""
    total = buckets.get(math.inf, 0.0)
    if total <= 0:
        return math.nan, math.nan
    prev_le, prev_count = 0.0, 0.0
    for le in sorted(buckets):
        if buckets[le] >= q * total:
            if math.isinf(le):
                return le, prev_le
            frac = (q * total - prev_count) / max(buckets[le] - prev_count, 1e-12)
            return le, prev_le + (le - prev_le) * frac
        prev_le, prev_count = le, buckets[le]
    return math.inf, prev_le


def delta(later: Buckets, earlier: Buckets) -> Buckets:
    return {le: later.get(le, 0.0) - earlier.get(le, 0.0) for le in later}


def add(a: Buckets, b: Buckets) -> Buckets:
    return {le: a.get(le, 0.0) + b.get(le, 0.0) for le in set(a) | set(b)}


def windowed(
    samples: Sequence[tuple[float, Buckets]],
    start: float,
    end: float,
    excluded: Iterable[tuple[float, float]] = (),
) -> Buckets:
    """Sum of histogram increments between consecutive samples inside [start, end], leaving
    out every increment whose interval overlaps an excluded (start, end) span."""
    spans = list(excluded)
    total: Buckets = {}
    for (t0, b0), (t1, b1) in itertools.pairwise(samples):
        if t0 < start or t1 > end:
            continue
        if any(t0 < e and t1 > s for s, e in spans):
            continue
        total = add(total, delta(b1, b0))
    return total


@dataclass
class Outage:
    village: str
    cut: float  # unix time the link went down
    restored: float = 0.0  # unix time it came back (0: not yet)


@dataclass
class Verdict:
    missed: list[str]
    unexpected: list[str]
    false_village_down: int
    per_outage: list[dict]


def check_notifications(outages: Sequence[Outage], received: Sequence[dict]) -> Verdict:
    """Each outage must give exactly one `firing` after its cut and one `resolved` after its
    restore for its village; anything else received is unexpected. received: webhook bodies
    with `event`, `alert.labels` and the receive time `_t`."""
    by_village: dict[str, list[dict]] = {}
    for body in received:
        labels = body.get("alert", {}).get("labels", {})
        by_village.setdefault(labels.get("village", labels.get("device", "?")), []).append(body)
    missed, unexpected, per = [], [], []
    cut_villages = {o.village for o in outages}
    for o in outages:
        got = by_village.get(o.village, [])
        firing = [b for b in got if b["event"] == "firing" and b["_t"] >= o.cut]
        resolved = [b for b in got if b["event"] == "resolved" and b["_t"] >= o.restored]
        per.append(
            {
                "village": o.village,
                "firing_after_s": round(firing[0]["_t"] - o.cut, 1) if firing else None,
                "resolved_after_s": round(resolved[0]["_t"] - o.restored, 1) if resolved else None,
                "firing": len(firing),
                "resolved": len(resolved),
            }
        )
        if len(firing) != 1:
            missed.append(f"{o.village}: {len(firing)} firing (want 1)")
        if len(resolved) != 1:
            missed.append(f"{o.village}: {len(resolved)} resolved (want 1)")
        others = [b for b in got if b not in firing and b not in resolved]
        unexpected += [f"{o.village}: {b['event']} {b['alert']['labels']}" for b in others]
    false_down = 0
    for village, bodies in by_village.items():
        if village in cut_villages:
            continue
        for b in bodies:
            unexpected.append(f"{village}: {b['event']} {b['alert']['labels']}")
            if b["alert"]["labels"].get("alertname") == "VillageWifiDown":
                false_down += b["event"] == "firing"
    return Verdict(missed, unexpected, false_down, per)


def max_gap(timestamps: Sequence[float]) -> float:
    ts = sorted(set(timestamps))
    return max((b - a for a, b in itertools.pairwise(ts)), default=math.inf)


def main() -> int:
    ap = argparse.ArgumentParser(description="run one soak fault injector on its own")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("scrape-storm")
    s.add_argument("--url", required=True)
    s.add_argument("--sources", required=True, help="comma-separated local addresses")
    s.add_argument("--per-source", type=int, default=40)
    s.add_argument("--seconds", type=float, default=30)
    args = ap.parse_args()
    result = scrape_storm(args.url, args.sources.split(","), args.per_source, args.seconds)
    print(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)  # no lingering connector cleanup


if __name__ == "__main__":
    sys.exit(main())
