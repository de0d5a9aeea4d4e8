"""Benchmark: trap → the village's page (issue 11 target: under 5 s). Root: test namespaces.

    flock /work/bench.lock .venv/bin/python bench/trap_detect_bench.py [--n 20]

`netwatch run` in a test namespace watches a Huawei MA5800 OLT, a controller and a POP served by
snmpsim (synthetic ONT table, the ONT's run status and last down cause and the POP's
ifOperStatus writable); Sarongan's router and AP
live in a namespace of their own behind a veth link (tests/helpers/onu_netlab.py). SNMP polls
run once an hour. Each round:

- **power cut**: the village's link goes down, the ONT is set down with cause dying gasp with
  net-snmp's snmpset, the OLT's hwGponProfOntDGAlarmTrap (HUAWEI-XPON-TRAP-MIB) goes with
  snmptrap from the OLT's address; timed until the webhook sink has the
  village's `VillageWifiDown` page (cause onu_dying_gasp): trap → re-poll → the echo to the
  village router that tells a silent village from one on another path → evaluation → outbox
  → webhook. Then power back (link up, ONT up, its DG recovery trap) until the resolution.
- **linkDown**: the village's port on the POP goes down (ifOperStatus 2) and a linkDown trap
  goes from the POP; timed until `VillageUplinkDown`; then up again and its resolution.

No peer: snmp_exporter and Prometheus have no trap path (their detection is the scrape interval
plus the rule's `for`). Loopback and test namespaces only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers.cause_lab import (  # noqa: E402
    HUAWEI,
    HW_CAUSE,
    HW_STATE,
    IF_OPER,
    V1,
    Lab,
    running_lab,
    until,
)
from tests.helpers.netns import Link  # noqa: E402
from tests.helpers.onu_netlab import AP, ROUTER, cut, restore, village_netlab  # noqa: E402

LINK_DOWN, LINK_UP = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4"
# hwXponDeviceOntAlarmTraps { 0 18 } / { 0 19 }: the ONT's dying gasp and its recovery.
HW_DG, HW_DG_RECOVER = (
    "1.3.6.1.4.1.2011.6.128.1.1.12.2.2.0.18",
    "1.3.6.1.4.1.2011.6.128.1.1.12.2.2.0.19",
)


def _events(lab: Lab, alertname: str, event: str) -> list[float]:
    rows = [r for r in lab.hooks(alertname) if r.json()["alert"]["labels"].get("village") == V1]
    return [r.time for r in rows if r.json()["event"] == event]


async def _timed(lab: Lab, alertname: str, event: str, act: object) -> float:
    before = len(_events(lab, alertname, event))
    sent = act()  # type: ignore[operator]
    await until(lambda: len(_events(lab, alertname, event)) > before, 30, f"{alertname} {event}")
    return _events(lab, alertname, event)[-1] - sent


async def rounds(n: int, link: Link) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in ("power cut", "power back", "linkDown", "linkUp")}
    # Flapping detection off: every round is a real change the bench wants notified.
    with tempfile.TemporaryDirectory(prefix="nw-trapbench-") as tmp:
        async with running_lab(Path(tmp), alerting=", flap_threshold: 100000",
                               village=(ROUTER, AP), olt=HUAWEI) as lab:  # fmt: skip
            await until(lambda: lab.metric('netwatch_device_up{device="sarongan-router"') == 1,
                        30, "router up")  # fmt: skip

            def power(up: bool) -> float:
                (restore if up else cut)(link)
                lab.set("olt", HW_STATE, 1 if up else 2)  # RunStatus up(1) / down(2)
                if not up:
                    lab.set("olt", HW_CAUSE, 13)  # LastDownCause dying-gasp(13)
                return lab.trap("olt", HW_DG_RECOVER if up else HW_DG, ())

            def port(up: bool) -> float:
                lab.set("pop", f"{IF_OPER}.1", 1 if up else 2)
                return lab.trap("pop", LINK_UP if up else LINK_DOWN)

            for _ in range(n):
                out["power cut"].append(
                    await _timed(lab, "VillageWifiDown", "firing", lambda: power(False))
                )
                out["power back"].append(
                    await _timed(lab, "VillageWifiDown", "resolved", lambda: power(True))
                )
                await until(lambda: lab.metric('netwatch_device_up{device="sarongan-router"') == 1,
                            30, "router up again")  # fmt: skip
                out["linkDown"].append(
                    await _timed(lab, "VillageUplinkDown", "firing", lambda: port(False))
                )
                out["linkUp"].append(
                    await _timed(lab, "VillageUplinkDown", "resolved", lambda: port(True))
                )
                await asyncio.sleep(0.3)
            extra = [
                r.json()["alert"]["labels"]["alertname"] for r in lab.hooks("VillageOnuOffline")
            ]
            if extra:
                raise SystemExit(f"ONU alerts beside the village's page: {len(extra)}")
    return out


def summary(name: str, xs: list[float]) -> str:
    q = statistics.quantiles(xs, n=20, method="inclusive") if len(xs) > 1 else xs * 19
    return (
        f"{name:<11} n={len(xs)}  median {statistics.median(xs) * 1000:.0f} ms  "
        f"p95 {q[18] * 1000:.0f} ms  max {max(xs) * 1000:.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20, help="rounds (each: power cut, linkDown)")
    args = ap.parse_args()
    t0 = time.monotonic()
    with village_netlab() as (core, link), core.entered():
        got = asyncio.run(rounds(args.n, link))
    for name, xs in got.items():
        print(summary(name, xs))
    worst = max(max(got["power cut"]), max(got["linkDown"]))
    print(
        f"target: village page under 5000 ms after the trap -> {'met' if worst < 5 else 'NOT met'}"
    )
    print(f"wall {time.monotonic() - t0:.1f} s")


if __name__ == "__main__":
    main()
