"""Count and time the cyclic collector's passes inside `netwatch run` (any commit).

Loaded as `sitecustomize` into the process run_bench.py starts, so main and a branch are
measured the same way (main has no GC metrics of its own):

    mkdir -p /tmp/probe && cp bench/gc_probe.py /tmp/probe/sitecustomize.py
    NW_GC_PROBE_OUT=/tmp/gc.json PYTHONPATH=/tmp/probe .venv/bin/python bench/run_bench.py ...
    .venv/bin/python bench/gc_probe.py /tmp/gc.json     # per generation: passes, seconds

Only a process whose argv has `run` installs it; every 2 s it rewrites the JSON file with
per-generation totals and the list of full passes (time since start, seconds, collected).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time


def _install(out: str) -> None:
    t0 = time.monotonic()
    count = [0, 0, 0]
    seconds = [0.0, 0.0, 0.0]
    collected = [0, 0, 0]
    fulls: list[tuple[float, float, int]] = []
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        gen = info["generation"]
        took = time.perf_counter() - started[0]
        count[gen] += 1
        seconds[gen] += took
        collected[gen] += info["collected"]
        if gen == 2:
            fulls.append((round(time.monotonic() - t0, 2), round(took, 4), info["collected"]))

    def dump() -> None:
        while True:
            time.sleep(2.0)
            doc = {
                "uptime": time.monotonic() - t0,
                "count": count,
                "seconds": seconds,
                "collected": collected,
                "frozen": gc.get_freeze_count(),
                "threshold": gc.get_threshold(),
                "fulls": list(fulls),
            }
            with open(out + ".tmp", "w") as f:
                json.dump(doc, f)
            os.replace(out + ".tmp", out)

    gc.callbacks.append(callback)
    threading.Thread(target=dump, daemon=True).start()


def summarize(path: str, since: float) -> None:
    with open(path) as f:
        doc = json.load(f)
    print(f"uptime {doc['uptime']:.0f} s, frozen {doc['frozen']}, threshold {doc['threshold']}")
    for gen in range(3):
        print(
            f"gen {gen}: {doc['count'][gen]} passes, {doc['seconds'][gen]:.2f} s, "
            f"collected {doc['collected'][gen]}"
        )
    late = [f for f in doc["fulls"] if f[0] >= since]
    print(
        f"full passes from {since:.0f} s: {len(late)}, {sum(f[1] for f in late):.2f} s, "
        f"collected {sum(f[2] for f in late)}; max {max((f[1] for f in late), default=0):.3f} s"
    )
    print("full passes (t, s, collected):", doc["fulls"])


if __name__ == "__main__":
    summarize(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 0.0)
elif os.environ.get("NW_GC_PROBE_OUT") and "run" in sys.argv[1:2]:
    _install(os.environ["NW_GC_PROBE_OUT"])
