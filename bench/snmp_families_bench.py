"""Scrape cost of the SNMP families for N devices: the /metrics text path, cold and warm.

Devices carry 24 interfaces, 4 Wi-Fi client samples and 2 optical readings each (a village
AP/router mix). Cold: a new exposition, every device sampled into its columns; warm: no device
changed (the columns written out again). Peer: client_python's own text encoder on the same
families as Metric objects.

    .venv/bin/python bench/snmp_families_bench.py [--devices 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.registry import Collector

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netwatch.collectors.snmp import PLUGIN as SNMP
from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation, SnmpSample
from netwatch.core.model import Device, Inventory, Role, Settings
from netwatch.core.state import State
from netwatch.exporters.prometheus import Exposition, metric_families


def build(n: int) -> State:
    devs = {f"ap-{i}": Device(f"ap-{i}", Role.AP, f"127.1.{i // 250}.{i % 250 + 1}", "35.10.07",
                              "35.10.07.2001") for i in range(n)}  # fmt: skip
    state = State(Inventory("35.10", "Banyuwangi", Settings(), {}, {}, devs, {}))
    for t in (0.0, 60.0):
        for name in devs:
            ifs = [SnmpInterface(index=k, name=f"ether{k}", oper_status=1, admin_status=1,
                                 speed_bps=1e9, in_octets=int(1e6 * k + t * 1e4),
                                 out_octets=int(2e6 * k + t * 1e4), in_errors=0, out_errors=0,
                                 in_discards=0, out_discards=0, radio=k < 2)
                   for k in range(1, 25)]  # fmt: skip
            wifi = [
                SnmpSample("wifi_clients", 3.0, (("interface", f"wlan{k}"), ("scope", "interface")))
                for k in range(4)
            ]
            opt = [SnmpSample("optical_rx_dbm", -17.3, (("port", "sfp1"),)),
                   SnmpSample("optical_tx_dbm", 2.1, (("port", "sfp1"),))]  # fmt: skip
            state.record(SnmpObservation(name, t, uptime_ticks=int(1e6 + t * 100), interfaces=ifs,
                                         wifi_clients=wifi, optical=opt))  # fmt: skip
    return state


class _Src(Collector):
    def __init__(self, state: State) -> None:
        self.state = state

    def collect(self):
        return metric_families(self.state, SNMP)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=1000)
    n = ap.parse_args().devices
    state = build(n)
    reg = CollectorRegistry()
    reg.register(_Src(state))
    cold = warm = peer = float("inf")
    for _ in range(3):  # best of three: the first run also pays for GC of the build
        exposition = Exposition(state, [SNMP])  # empty columns: every device is sampled
        t0 = time.perf_counter()
        body = bytes(exposition.render())
        cold = min(cold, time.perf_counter() - t0)
        t0 = time.perf_counter()
        again = bytes(exposition.render())  # nothing changed: the columns written out
        warm = min(warm, time.perf_counter() - t0)
        assert again == body
        t0 = time.perf_counter()
        ref = generate_latest(reg)
        peer = min(peer, time.perf_counter() - t0)
    samples = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    mb, peer_mb = len(body) / 1e6, len(ref) / 1e6
    print(f"{n} devices, {samples} SNMP samples ({mb:.1f} MB; peer {peer_mb:.1f} MB)")
    for what, t in (("cold: every device rendered", cold), ("warm: no device changed", warm)):
        per = t / samples * 1e6
        print(f"  {what:30s} {t * 1000:7.0f} ms  ({per:.2f} µs/sample, {t / peer:.2f}× peer)")
    per = peer / samples * 1e6
    print(f"  {'client_python (peer)':30s} {peer * 1000:7.0f} ms  ({per:.2f} µs/sample)")


if __name__ == "__main__":
    main()
