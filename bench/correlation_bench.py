"""What weighing residents' complaints adds to one alert-engine evaluation (issue 12).

    .venv/bin/python bench/correlation_bench.py [--complaints 600] [--evaluations 300]

The default inventory (217 villages, 487 devices, every device confirmed up), the engine on a
real SQLite file, and a complaint store holding --complaints open reports in the window (600 =
the board's whole-board limit for an hour), spread over the villages so that a third of them
fire the warning. Prints the mean and p99 time of one evaluation without the complaint store and
with it; the difference is what the correlation costs the monitor's event loop per tick. No
peer tool weighs complaints, so there is no ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from netwatch.alerting import store  # noqa: E402
from netwatch.alerting.engine import Engine  # noqa: E402
from netwatch.alerting.outbox import Outbox  # noqa: E402
from netwatch.config import default_config_path, load_inventory  # noqa: E402
from netwatch.public.complaint_feed import StoreFeed  # noqa: E402
from netwatch.public.complaints import ComplaintStore  # noqa: E402


def timings(engine: Engine, clock: list[float], n: int) -> list[float]:
    out = []
    for _ in range(n):
        clock[0] += 1.0
        for name in engine.inventory.devices:  # a round of every device each second
            engine.observe(name, clock[0], 5, 5, 0.001)
        start = time.perf_counter()
        engine.evaluate()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--complaints", type=int, default=600)
    p.add_argument("--evaluations", type=int, default=300)
    args = p.parse_args()
    inv = load_inventory(default_config_path())
    tmp = Path(tempfile.mkdtemp(prefix="nw-corr-bench-"))
    clock = [time.time()]
    conn = store.connect(str(tmp / "alerts.sqlite3"))
    engine = Engine(inv, conn=conn, outbox=Outbox(conn, inv.settings.notifications),
                    clock=lambda: clock[0])  # fmt: skip
    timings(engine, clock, 5)  # every device confirmed up, village states recorded
    base = timings(engine, clock, args.evaluations)

    complaints = ComplaintStore(str(tmp / "complaints.sqlite3"))
    villages = list(inv.villages)
    for i in range(args.complaints):
        code = villages[i % len(villages)]
        complaints.add(code, inv.villages[code].district, "slow", "", measured_state="up",
                       outage_known=False, now=clock[0] - 60 + i * 0.01)  # fmt: skip
    engine.correlation.feed = StoreFeed(complaints.path)
    timings(engine, clock, 1)  # the warnings fire (and are enqueued) once
    firing = sum(1 for a in engine.snapshot().alerts if a.complaints)
    weighed = timings(engine, clock, args.evaluations)

    def line(name: str, xs: list[float]) -> str:
        p99 = statistics.quantiles(xs, n=100)[98]
        return f"{name:32s} mean {statistics.mean(xs) * 1e3:7.3f} ms  p99 {p99 * 1e3:7.3f} ms"

    print(f"default inventory: {len(inv.villages)} villages, {len(inv.devices)} devices; "
          f"{args.complaints} open complaints in the window, {firing} warnings open")  # fmt: skip
    print(line("evaluation, no complaint store", base))
    print(line("evaluation, complaints weighed", weighed))
    extra = statistics.mean(weighed) - statistics.mean(base)
    print(f"correlation adds {extra * 1e3:.3f} ms per evaluation (one per alerting.tick, 1 s)")


if __name__ == "__main__":
    main()
