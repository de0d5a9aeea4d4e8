"""CPU of a /metrics scrape at 50,000 devices as `netwatch run` is scraped, loop and gzip thread.

The exposition_bench state (synthetic inventory, one ping round per device, the alert engine)
with `netwatch run`'s sources (every collector's, the alert and link families) plus an SNMP
fifth (every fifth device polled over SNMP, as run_bench.py configures it: system figures and
two interfaces with their counters, ~30 samples a device). Between two scrapes
(15 s apart in `netwatch run`): every device's ping round before every other scrape (the echo
stream closes every round in one slot, 30 s rounds), and a quarter of the SNMP devices polled
(60 s interval), their counters and uptime moved. Scrapes as Prometheus makes them
(OpenMetrics, gzip, through `MetricsEndpoint.body`) on an otherwise idle loop. For each: CPU of
the loop thread (the render) and of the whole process (with the gzip thread), wall time, gzip
bytes, RSS after it. "steady" = scrapes after the first two (the kept slices settled).
--profile FILE: a cProfile of the loop thread over the steady scrapes.

    .venv/bin/python bench/scrape_cpu.py [--devices 50000] [--scrapes 8] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import gzip
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.exposition_bench import ping_all, pinged_state
from netwatch.alerting.service import AlertService
from netwatch.collectors.icmp import PLUGIN as ICMP
from netwatch.collectors.service import PLUGIN as SERVICE
from netwatch.collectors.snmp import PLUGIN as SNMP
from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation
from netwatch.core.state import State
from netwatch.exporters import prometheus_links
from netwatch.exporters.prometheus import Exposition, Format, inventory_families
from netwatch.exporters.prometheus_alerts import source
from netwatch.web.metrics import MetricsEndpoint

OM = "application/openmetrics-text"


def snmp_poll(state: State, names: list[str], t: float) -> None:
    """One SNMP poll of each device named, at unix time t (counters grow with t)."""
    for i, name in enumerate(names):
        k = int(t) * 1000 + i
        ifs = [SnmpInterface(index=1, name="lo", if_type=24, oper_status=1, admin_status=1,
                             speed_bps=1e7, in_octets=k * 91, out_octets=k * 91, in_errors=0,
                             out_errors=0, in_discards=0, out_discards=0),
               SnmpInterface(index=2, name="eth0", if_type=6, oper_status=1, admin_status=1,
                             speed_bps=1e9, in_octets=k * 1234 + i, out_octets=k * 577,
                             in_errors=i % 3, out_errors=0, in_discards=0,
                             out_discards=0)]  # fmt: skip
        state.record(SnmpObservation(name, t + i * 1e-4, duration=0.0123 + (i % 89) * 1e-4,
                                     uptime_ticks=int(t * 100) + i * 7, sys_name=name,
                                     sys_object_id="1.3.6.1.4.1.8072.3.2.10",
                                     profiles=("generic",), interfaces=ifs,
                                     cpu_load_ratio=(i % 17) / 100,
                                     memory_used_bytes=float(1 << 28) + (k % 4096) * 4096,
                                     memory_total_bytes=float(1 << 31)))  # fmt: skip


def polled_sources(state: State, service: AlertService, snmp: list[str], t: float) -> list:
    """Two SNMP polls a minute apart of the devices named in snmp (so rates have two points),
    then the exposition's sources as Runtime.metric_sources orders them (without the cluster's
    few families)."""
    snmp_poll(state, snmp, t - 60)
    snmp_poll(state, snmp, t)
    return [inventory_families, ICMP, SNMP, SERVICE, source(service),
            prometheus_links.families]  # fmt: skip


def rss() -> str:
    """VmRSS of this process (its high-water is the bench's own inflated bodies: not shown)."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return f"{int(status['VmRSS'].split()[0]) / 1024:.1f} MiB"


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=50_000)
    ap.add_argument("--scrapes", type=int, default=8)
    ap.add_argument("--snmp-every", type=int, default=5, help="every n-th device over SNMP")
    ap.add_argument("--profile", help="cProfile of the steady scrapes' loop thread, to FILE")
    ap.add_argument("--check", action="store_true", help="each gzip body against a plain one")
    args = ap.parse_args()
    with pinged_state(args.devices) as (state, service, names, t):
        snmp = names[:: args.snmp_every]
        sources = polled_sources(state, service, snmp, t)
        expo = Exposition(state, sources)
        endpoint = MetricsEndpoint(expo)
        body = await endpoint.body(Format.OPENMETRICS, True, OM)  # cold
        gc.collect()
        gc.freeze()  # as `netwatch run` settles its heap (netwatch/core/heap.py)
        prof = cProfile.Profile() if args.profile else None
        rows = []
        for i in range(args.scrapes):
            now = t + 15 * (i + 1)
            if i % 2 == 0:
                ping_all(state, now, names)
            snmp_poll(state, snmp[i % 4 :: 4], now)
            gc.collect()
            steady = i >= 2
            if prof is not None and steady:
                prof.enable()
            loop0, proc0, t0 = time.thread_time(), time.process_time(), time.perf_counter()
            body = await endpoint.body(Format.OPENMETRICS, True, OM)
            wall = time.perf_counter() - t0
            loop, whole = time.thread_time() - loop0, time.process_time() - proc0
            if prof is not None and steady:
                prof.disable()
            resident = rss()  # before the bench inflates the body to count its samples
            text = gzip.decompress(b"".join(body.chunks))
            n = text.count(b"\n") - text.count(b"\n#") - (text[:1] == b"#")
            if args.check:
                assert text.startswith(bytes(expo.render(fmt=Format.OPENMETRICS)))
            del text
            rows.append((i % 2 == 0, loop, whole, wall))
            print(f"scrape {i + 1} ({'after a ping round' if i % 2 == 0 else 'between rounds'}): "
                  f"loop {loop:.3f} s, with gzip {whole:.3f} s, wall {wall:.3f} s, "
                  f"{n:,} samples, {len(body) / 2**20:.1f} MiB gzip, RSS {resident}")  # fmt: skip
        if prof is not None:
            prof.dump_stats(args.profile)
    steady_rows = rows[2:]
    for label, pick in (("after a round", True), ("between rounds", False)):
        sel = [r for r in steady_rows if r[0] is pick]
        if sel:
            print(f"steady, {label}: loop {statistics.mean(r[1] for r in sel):.3f} s, with gzip "
                  f"{statistics.mean(r[2] for r in sel):.3f} s (mean of {len(sel)})")  # fmt: skip
    print(f"steady mean a scrape: loop {statistics.mean(r[1] for r in steady_rows):.3f} s, "
          f"with gzip {statistics.mean(r[2] for r in steady_rows):.3f} s, wall max "
          f"{max(r[3] for r in steady_rows):.3f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
