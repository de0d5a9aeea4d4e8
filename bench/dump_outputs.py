"""Dump the full /metrics state exposition and every line-protocol point of a fixed state.

Proof for refactors that must not change a byte of output (issue 13): run it on the old code,
keep the folder, run it on the new code with --compare OLD_FOLDER.

Two deterministic states over the packaged default inventory (217 villages, 487 devices):
- recordings: fixed ping rounds, and SNMP polls of the 19 real device recordings
  (tests/data/snmprec, served in-process by collectors/snmp/agent.py on 127.0.0.1), two polls
  each with grown counters, plus failed and half-failed polls;
- demo: the demo's scenario (a router cut off, an AP cut off, a lossy router, an AP with its
  radio off) with the demo's own SNMP tables, counters frozen at fixed times.
Times and durations are fixed; nothing depends on the clock. Only 127.0.0.1 is contacted.

    .venv/bin/python bench/dump_outputs.py OUT_DIR [--compare OLD_DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import difflib
import os
import re
import socket
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from netwatch.alerting.types import Alert  # noqa: E402
from netwatch.collectors.snmp import agent  # noqa: E402
from netwatch.collectors.snmp.collector import probe_target  # noqa: E402
from netwatch.collectors.snmp.engine import SnmpEngine  # noqa: E402
from netwatch.collectors.snmp.types import Kind, Target, Value, parse_oid  # noqa: E402
from netwatch.config import default_config_path, load_inventory  # noqa: E402
from netwatch.core.model import InfluxSettings, Inventory, Role  # noqa: E402
from netwatch.demo.agents import device_table  # noqa: E402
from netwatch.demo.network import pick_scenario  # noqa: E402
from tests.helpers import snmprec  # noqa: E402
from tests.helpers.data import SNMPREC_DIR  # noqa: E402

T0 = 1_750_000_000.0  # fixed unix time of the first round
RECORDINGS = sorted(p.stem for p in SNMPREC_DIR.glob("*.snmprec"))
_TAGS = {"2": Kind.INTEGER, "4": Kind.OCTET_STRING, "4x": Kind.OCTET_STRING,
         "4e": Kind.OCTET_STRING, "5": Kind.NULL, "6": Kind.OBJECT_IDENTIFIER,
         "64": Kind.IP_ADDRESS, "65": Kind.COUNTER32, "66": Kind.GAUGE32, "67": Kind.TIMETICKS,
         "68": Kind.OPAQUE, "70": Kind.COUNTER64}  # fmt: skip


# -- the code under test, old and new layout ----------------------------------------------------


def _api():
    """The entry points of whichever layout this checkout has (the inputs stay the same)."""
    ns = argparse.Namespace()
    try:  # after issue 13: collector packages own their observations; one sample stream
        from netwatch.collectors.icmp.observation import PingObservation, PingResult
        from netwatch.collectors.registry import COLLECTORS
        from netwatch.collectors.snmp.observation import SnmpObservation
        from netwatch.core.state import State
        from netwatch.exporters.influxdb.exporter import InfluxExporter
        from netwatch.exporters.prometheus import Exposition, inventory_families

        def render(state):
            return Exposition(state, [inventory_families, *COLLECTORS]).render()

        ns.listener = lambda exporter: exporter.on_observation
    except ImportError:  # before: hand-written mappings per collector and exporter
        from netwatch.core.observations import PingObservation, PingResult, SnmpObservation
        from netwatch.core.state import State
        from netwatch.exporters import prometheus, prometheus_snmp
        from netwatch.exporters.influxdb.exporter import InfluxExporter
        from netwatch.exporters.prometheus import StateCollector, render_text

        def render(state):
            sources = [*prometheus.DEFAULT_SOURCES, prometheus_snmp.families]
            return render_text(StateCollector(state, sources).collect())

        ns.listener = lambda exporter: exporter._on_observation
    ns.PingObservation, ns.PingResult, ns.SnmpObservation = (
        PingObservation,
        PingResult,
        SnmpObservation,
    )
    ns.State, ns.InfluxExporter, ns.render = State, InfluxExporter, render
    return ns


API = _api()


class Capture:
    """Stands in for the exporter's Writer: keeps every line handed to it, in order."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)

    def add_many(self, lines) -> None:
        self.lines.extend(lines)


# -- inputs ---------------------------------------------------------------------------------------


def ping_round(name: str, k: int, t: float, mode: str):
    """A fixed round: mode ok | lossy | silent | error; RTTs from the device name."""
    seed = zlib.crc32(name.encode())
    base = 0.0005 + (seed % 997) * 1e-5
    rtts = [base + ((seed >> (3 * i)) % 7) * 1e-4 + k * 1e-5 for i in range(5)]
    if mode == "silent":
        rtts = []
    elif mode == "lossy":
        rtts = rtts[: 2 + seed % 3]
    if mode == "error":
        res = API.PingResult(address=f"{name}.invalid", error=f"unresolvable: {name}.invalid")
    else:
        res = API.PingResult(address="127.0.0.1", sent=5, received=len(rtts), rtts=rtts)
    duration = 1.0 if seed % 4 == 0 else 0.2 + (seed % 500) * 1e-3  # some integral on purpose
    return API.PingObservation(name, t, res, duration)


def ping_mode(name: str, k: int) -> str:
    r = zlib.crc32(name.encode()) % 20
    return {
        0: "silent",
        1: "lossy",
        2: "error" if k == 0 else "ok",
        3: "silent" if k else "ok",
    }.get(r, "ok")


def _value(rec: snmprec.Record, bump: int) -> Value:
    kind = _TAGS[rec.tag.split(":")[0]]
    if kind in (Kind.INTEGER, Kind.COUNTER32, Kind.GAUGE32, Kind.TIMETICKS, Kind.COUNTER64):
        n = int(rec.raw)
        if kind is Kind.COUNTER32:
            n = (n + bump * 7919) % (1 << 32)
        elif kind is Kind.COUNTER64:
            n = (n + bump * 1_000_003) % (1 << 64)
        elif kind is Kind.TIMETICKS:
            n = (n + bump * 6000) % (1 << 32)
        return Value(kind, n)
    if kind is Kind.OBJECT_IDENTIFIER:
        return Value(kind, parse_oid(rec.raw))
    if kind is Kind.NULL:
        return Value(kind, None)
    if kind is Kind.IP_ADDRESS:
        return Value(kind, socket.inet_aton(rec.raw) if "." in rec.raw else bytes.fromhex(rec.raw))
    base = rec.tag.split(":")[0]
    if base == "4x":
        return Value(kind, bytes.fromhex(rec.raw))
    if base == "4e":
        import codecs

        return Value(kind, codecs.escape_decode(rec.raw.encode())[0])
    return Value(kind, rec.raw.encode())


def recording_tables(bump: int) -> dict[str, agent.Table]:
    assert RECORDINGS, f"no recordings in {SNMPREC_DIR}"
    out = {}
    for name in RECORDINGS:
        recs = snmprec.read(SNMPREC_DIR / f"{name}.snmprec")
        out[name] = agent.Table({oid: _value(r, bump) for oid, r in recs.items()})
    return out


def demo_tables(inv: Inventory, radio_down: str, elapsed: float) -> dict[str, agent.Table]:
    out = {}
    for name, device in inv.devices.items():
        table = device_table(device, radio_down=name == radio_down)
        frozen = {oid: v.at(elapsed) if isinstance(v, agent.Counter) else v
                  for oid, v in table.values.items()}  # fmt: skip
        frozen.setdefault(agent.UPTIME, Value(Kind.TIMETICKS, int(elapsed * 100)))
        out[name] = agent.Table(frozen)
    return out


async def poll_all(tables: dict[str, agent.Table]) -> dict[str, object]:
    transport, _ = await agent.serve("127.0.0.1", 0, tables)
    port = transport.get_extra_info("sockname")[1]
    try:
        async with SnmpEngine() as engine:
            sem = asyncio.Semaphore(32)

            async def one(community: str):
                target = Target("127.0.0.1", port, community=community, timeout=5.0, retries=2)
                async with sem:
                    return community, await probe_target(community, target, engine)

            return dict(await asyncio.gather(*(one(c) for c in tables)))
    finally:
        transport.close()


def fixed(obs, device: str, t: float, duration: float):
    assert obs.error is None, f"{device}: {obs.error} {obs.message}"
    return dataclasses.replace(obs, device=device, time=t, duration=duration)


# -- the two scenarios ----------------------------------------------------------------------------


def scenario_recordings(inv: Inventory) -> list:
    polls = [asyncio.run(poll_all(recording_tables(bump))) for bump in (0, 1)]
    names = list(inv.devices)
    events = []
    for k in (0, 1):
        t = T0 + 30 * k
        events += [ping_round(n, k, t, ping_mode(n, k)) for n in names]
        for i, name in enumerate(names[: 3 * len(RECORDINGS)]):
            rec = RECORDINGS[i % len(RECORDINGS)]
            events.append(fixed(polls[k][rec], name, t + 5, 0.5 if i % 3 == 0 else 0.125 + i))
    failed = names[3 * len(RECORDINGS) : 3 * len(RECORDINGS) + 4]
    for name in failed:
        events.append(API.SnmpObservation(device=name, time=T0 + 70, duration=2.0,
                                          error="timeout", message="no answer"))  # fmt: skip
    # A poll whose interface walk failed: the last good interface state must stay.
    half = dataclasses.replace(fixed(polls[1][RECORDINGS[0]], names[0], T0 + 95, 0.75),
                               interfaces=[], failed_walks=["1.3.6.1.2.1.31.1.1.1.6"])  # fmt: skip
    events.append(half)
    return events


def scenario_demo(inv: Inventory) -> list:
    sc = pick_scenario(inv)
    polls = [
        asyncio.run(poll_all(demo_tables(inv, sc.radio_device, elapsed)))
        for elapsed in (100.0, 160.0)
    ]
    events = []
    for k in (0, 1):
        t = T0 + 30 * k
        for name in inv.devices:
            mode = "ok"
            if name in (sc.down_device, sc.degraded_device):
                mode = "silent"
            elif name == sc.lossy_device:
                mode = "lossy"
            events.append(ping_round(name, k, t, mode))
        for name in inv.devices:
            if name in (sc.down_device, sc.degraded_device):
                failed = API.SnmpObservation(
                    device=name, time=t + 7, duration=2.0, error="timeout", message="no answer"
                )
                events.append(failed)
            else:
                events.append(fixed(polls[k][name], name, t + 7, 0.25))
    return events


def alerts() -> list[Alert]:
    base = {
        "alertname": "VillageWifiDown",
        "severity": "critical",
        "village": "35.10.07.2001",
        "village_name": "Purwodadi",
        "district": "35.10.07",
        "district_name": "Gambiran",
    }
    return [
        Alert(labels=dict(base), starts_at=T0 - 600),
        Alert(
            labels={**base, "alertname": "VillageWifiDegraded", "severity": "warning"},
            starts_at=T0 + 50,
            acknowledged_by="budi",
        ),
        Alert(
            labels={**base, "alertname": "UpstreamDown", "device": "gambiran-pop"},
            starts_at=T0 - 30,
            ends_at=T0,
        ),
        Alert(labels={"severity": "critical"}, starts_at=T0),
    ]


def run(inv: Inventory, events: list, out: Path, tag: str) -> None:
    state = API.State(inv)
    spool = out / f".spool-{tag}"
    cfg = InfluxSettings(url="http://127.0.0.1:9", bucket="b", spool_dir=str(spool))
    exporter = API.InfluxExporter(cfg, state)
    capture = Capture()
    exporter.writer = capture
    state.add_listener(API.listener(exporter))
    for obs in events:
        state.record(obs)
    exporter.points.precision = "ms"
    capture.lines.extend(exporter.points.villages(state, T0 + 90))
    capture.lines.extend(exporter.points.alerts(alerts(), T0 + 90))
    body = API.render(state)
    (out / f"metrics-{tag}.txt").write_bytes(bytes(body))
    (out / f"lines-{tag}.txt").write_text("".join(f"{line}\n" for line in capture.lines))


# -- comparison -----------------------------------------------------------------------------------


def families(text: str) -> list[tuple[str, str]]:
    """(name, block) per family of an exposition, in order."""
    blocks = re.split(r"(?m)^(?=# HELP )", text)
    return [(b.split(" ", 3)[2], b) for b in blocks if b]


def compare(new: Path, old: Path) -> int:
    bad = 0
    for path in sorted(old.glob("*.txt")):
        a, b = path.read_text(), (new / path.name).read_text()
        if a == b:
            print(f"{path.name}: identical ({len(a.encode()):,} bytes, {a.count(chr(10)):,} lines)")
            continue
        if path.name.startswith("metrics-"):
            fa, fb = families(a), families(b)
            old_blocks, new_blocks = dict(fa), dict(fb)
            added = [n for n, _ in fb if n not in old_blocks]
            if len(fa) == len(old_blocks) and all(new_blocks.get(n) == x for n, x in fa):
                na = [n for n, _ in fa]
                nb = [n for n, _ in fb if n in old_blocks]
                kept = difflib.SequenceMatcher(None, na, nb, autojunk=False).get_matching_blocks()
                stay = {n for m in kept for n in na[m.a : m.a + m.size]}
                moved = [n for n in na if n not in stay]
                print(f"{path.name}: all {len(na)} families of the old output byte-identical "
                      f"({len(a.encode()):,} bytes); {len(moved)} moved: {moved}")  # fmt: skip
                if added:
                    empty = all(new_blocks[n].count("\n") == 2 for n in added)
                    print(f"  {len(added)} new families{' (no samples)' if empty else ''}: {added}")
                continue
        bad += 1
        print(f"{path.name}: DIFFERENT")
        diff = difflib.unified_diff(a.splitlines(), b.splitlines(), "old", "new", lineterm="", n=0)
        for i, line in enumerate(diff):
            if i > 40:
                print("  ...")
                break
            print(" ", line[:200])
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--compare", type=Path, help="a folder written by the old code")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("NETWATCH_SNMP_COMMUNITY", "public")
    inv = load_inventory(default_config_path())
    assert next(iter(inv.devices.values())).role is Role.ROUTER
    run(inv, scenario_recordings(inv), args.out, "recordings")
    run(inv, scenario_demo(inv), args.out, "demo")
    for path in sorted(args.out.glob("*.txt")):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return compare(args.out, args.compare) if args.compare else 0


if __name__ == "__main__":
    sys.exit(main())
