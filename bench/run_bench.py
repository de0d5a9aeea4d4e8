"""`netwatch run` at scale: 10,000 loopback devices at a 30 s ping interval.

Measures CPU share of one core, peak RSS, scheduler lag p99 (from netwatch's own histogram)
and /metrics scrape time. Targets (foundation issue): < 25% of one core, RSS < 200 MiB,
lag p99 < 1 s, scrape < 1 s. Every address is in 127.0.0.0/8.

    .venv/bin/python bench/run_bench.py [--devices 10000] [--duration 300]
    .venv/bin/python bench/run_bench.py --config bench50k.yaml   # e.g. from synth_inventory.py
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def write_config(path: Path, devices: int, interval: int) -> None:
    """Districts of 125 villages, each village a router and an AP, all on 127.x.y.z."""
    villages = devices // 2
    districts = (villages + 124) // 125
    lines = [
        "settings:",
        f"  ping: {{interval: {interval}s, count: 5, spacing: 200ms, timeout: 1s}}",
        "  scheduler: {max_concurrency: 2000}",
        "regency:",
        '  code: "35.10"',
        "  name: Bench",
        "  districts:",
    ]
    made = 0
    for d in range(1, districts + 1):
        lines += [f'    - code: "35.10.{d:02d}"', f"      name: District {d}", "      villages:"]
        for v in range(1, 126):
            if made >= villages:
                break
            made += 1
            lines += [
                f'        - code: "35.10.{d:02d}.{2000 + v}"',
                f"          name: Village {d}-{v}",
                "          kind: desa",
                "          devices:",
                f"            - {{name: r-{d}-{v}, role: router, address: 127.{d}.{v}.1}}",
                f"            - {{name: ap-{d}-{v}, role: ap, address: 127.{d}.{v}.2}}",
            ]
    path.write_text("\n".join(lines) + "\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    vals = {
        k: int(v.split()[0])
        for k, v in (
            line.split(":", 1)
            for line in status.splitlines()
            if line.startswith(("VmRSS", "VmHWM"))
        )
    }
    return vals["VmRSS"] / 1024, vals["VmHWM"] / 1024


def scrape(url: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as resp:
        body = resp.read().decode()
    return time.perf_counter() - t0, body


def lag_quantile(text: str, q: float) -> float:
    """Upper bound of the histogram bucket holding quantile q of netwatch_scheduler_lag_seconds."""
    buckets: dict[float, float] = {}
    for fam in text_string_to_metric_families(text):
        if fam.name != "netwatch_scheduler_lag_seconds":
            continue
        for s in fam.samples:
            if s.name.endswith("_bucket"):
                le = float(s.labels["le"])
                buckets[le] = buckets.get(le, 0) + s.value
    total = buckets.get(float("inf"), 0)
    for le in sorted(buckets):
        if total and buckets[le] >= q * total:
            return le
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--duration", type=float, default=300)
    ap.add_argument("--interval", type=int, default=30)
    ap.add_argument("--config", type=Path, help="run this inventory instead of writing one")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nw-runbench-"))
    cfg = work / "bench.yaml"
    if args.config:
        # A copy beside the work files: the alert database lands in the config's folder.
        text = args.config.read_text(encoding="utf-8")
        cfg.write_text(text, encoding="utf-8")
        args.devices = text.count("address: 127.")
    else:
        write_config(cfg, args.devices, args.interval)
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    proc = subprocess.Popen(
        [
            str(REPO / ".venv/bin/netwatch"),
            "run",
            "--config",
            str(cfg),
            "--listen",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(work / "netwatch.log", "w"),  # noqa: SIM115 (lives as long as the child)
    )
    try:
        deadline = time.monotonic() + 60 + args.devices / 250  # the child parses ~1 ms/device
        while True:
            try:
                scrape(url)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    print((work / "netwatch.log").read_text(), file=sys.stderr)
                    return 1
                time.sleep(0.2)
        # Warm-up: one full interval so every job has run once before measuring.
        time.sleep(args.interval)
        c0, w0 = cpu_seconds(proc.pid), time.monotonic()
        scrapes: list[float] = []
        rss: list[float] = []
        end = w0 + args.duration
        body = ""
        while time.monotonic() < end:
            dt, body = scrape(url)
            scrapes.append(dt)
            rss.append(rss_mib(proc.pid)[0])
            time.sleep(max(0.0, min(15.0, end - time.monotonic())))
        c1, w1 = cpu_seconds(proc.pid), time.monotonic()
        _, hwm = rss_mib(proc.pid)
        samples = sum(1 for line in body.splitlines() if line and not line.startswith("#"))
        result = {
            "devices": args.devices,
            "interval_s": args.interval,
            "measured_s": round(w1 - w0, 1),
            "cpu_share_of_one_core": round((c1 - c0) / (w1 - w0), 4),
            "rss_mib_max": round(max(rss), 1),
            "rss_mib_peak_hwm": round(hwm, 1),
            "lag_p99_s_le": lag_quantile(body, 0.99),
            "lag_p50_s_le": lag_quantile(body, 0.50),
            "scrape_s_median": round(statistics.median(scrapes), 3),
            "scrape_s_max": round(max(scrapes), 3),
            "scrapes": len(scrapes),
            "samples_per_scrape": samples,
        }
        print(json.dumps(result, indent=2))
        targets = [
            ("CPU < 25% of one core", result["cpu_share_of_one_core"] < 0.25),
            ("RSS < 200 MiB", result["rss_mib_peak_hwm"] < 200),
            ("lag p99 < 1 s", result["lag_p99_s_le"] <= 1.0),
            ("scrape < 1 s", result["scrape_s_max"] < 1.0),
        ]
        for name, ok in targets:
            print(f"{'PASS' if ok else 'FAIL'}  {name}")
        return 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
