"""Cost of the 30-day uptime rule: the recorded chain (rules/netwatch.rules.yml) vs a raw window.

Backfills 30 days of netwatch_village_wifi_up for the 217 default villages (one sample a minute,
with outages) and the 5-minute recording the rule file keeps, into a real Prometheus
(promtool tsdb create-blocks-from openmetrics), then times, at the same instant,
  chain: avg_over_time(village:netwatch_village_wifi_up:avg_over_time_5m[30d])  (what we record)
  raw:   avg_over_time(netwatch_village_wifi_up[30d])                          (the naive peer)
and checks both give the same ratios. From the repo root:
.venv/bin/python bench/uptime_rules_bench.py
"""

from __future__ import annotations

import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netwatch.config import default_config_path, load_inventory
from tests.helpers.procs import free_port, http_get, stop, wait_for

STEP = 60  # seconds between raw samples (netwatch's default ping interval is 30 s)
DAYS = 30
RUNS = 7


def write_openmetrics(path: Path, villages: list[tuple[str, str]], end: int) -> int:
    """Raw samples and their 5-minute means; returns the number of raw samples."""
    rnd = random.Random(42)
    start = end - DAYS * 86400
    n = 0
    with path.open("w") as out:
        out.write("# TYPE netwatch_village_wifi_up gauge\n")
        records = []
        for code, district in villages:
            labels = f'{{village="{code}",district="{district}"}}'
            values = []
            down_until = 0
            for t in range(start, end + 1, STEP):
                if t >= down_until and rnd.random() < 0.0005:  # ~1 outage every 33 h
                    down_until = t + rnd.randint(5, 240) * 60
                v = 0 if t < down_until else 1
                values.append((t, v))
                out.write(f"netwatch_village_wifi_up{labels} {v} {t}\n")
                n += 1
            window = 300 // STEP
            rec = []
            for i in range(window - 1, len(values), window):
                t = values[i][0]
                rec.append((t, sum(v for _, v in values[i - window + 1 : i + 1]) / window))
            records.append((labels, rec))
        out.write("# TYPE village:netwatch_village_wifi_up:avg_over_time_5m gauge\n")
        for labels, rec in records:
            for t, v in rec:
                out.write(f"village:netwatch_village_wifi_up:avg_over_time_5m{labels} {v} {t}\n")
        out.write("# EOF\n")
    return n


def query(url: str, expr: str, at: int) -> tuple[float, list, dict]:
    q = urllib.parse.urlencode({"query": expr, "time": at, "stats": "all"})
    t0 = time.perf_counter()
    status, body = http_get(f"{url}/api/v1/query?{q}", timeout=120)
    elapsed = time.perf_counter() - t0
    assert status == 200, body
    data = json.loads(body)["data"]
    return elapsed, data["result"], data.get("stats", {})


def main() -> int:
    inv = load_inventory(default_config_path())
    villages = [(code, v.district) for code, v in inv.villages.items()]
    end = int(time.time()) // 300 * 300 - 600
    with tempfile.TemporaryDirectory(prefix="nw-uptime-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        raw = write_openmetrics(work / "data.om", villages, end)
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics",
             str(work / "data.om"), str(work / "tsdb")],
            check=True, capture_output=True, timeout=1800,
        )  # fmt: skip
        (work / "data.om").unlink()
        print(f"{len(villages)} villages, {raw:,} raw samples over {DAYS} d at {STEP} s: "
              f"backfilled in {time.perf_counter() - t0:.0f} s")  # fmt: skip
        port = free_port()
        (work / "prometheus.yml").write_text("global: {}\n")
        proc = subprocess.Popen(
            ["prometheus", f"--config.file={work / 'prometheus.yml'}",
             f"--storage.tsdb.path={work / 'tsdb'}", "--storage.tsdb.retention.time=90d",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: http_get(url + "/-/ready")[0] == 200, 60, "prometheus ready")
            exprs = {
                "chain": "avg_over_time(village:netwatch_village_wifi_up:avg_over_time_5m[30d])",
                "raw": "avg_over_time(netwatch_village_wifi_up[30d])",
            }
            results, times, samples = {}, {}, {}
            for name, expr in exprs.items():
                query(url, expr, end)  # warm the page cache and the head
                runs = [query(url, expr, end) for _ in range(RUNS)]
                times[name] = statistics.median(r[0] for r in runs)
                results[name] = {r["metric"]["village"]: float(r["value"][1]) for r in runs[0][1]}
                samples[name] = runs[0][2].get("samples", {}).get("totalQueryableSamples")
            worst = max(abs(results["chain"][v] - results["raw"][v]) for v in results["raw"])
            print(f"{'query':<6} {'median ms':>10} {'samples read':>14}")
            for name in exprs:
                print(f"{name:<6} {times[name] * 1000:>10.1f} {samples[name]:>14,}")
            print(f"ratio chain/raw: time {times['chain'] / times['raw']:.2f}x, "
                  f"samples {samples['chain'] / samples['raw']:.2f}x; "
                  f"largest difference in a village's ratio {worst:.5f}")  # fmt: skip
            print(f"at 15 s scrapes the raw window reads {4 * samples['raw']:,} samples")
        finally:
            stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
