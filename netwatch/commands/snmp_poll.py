"""`netwatch snmp poll`: one collector poll of one agent, printed as text or JSON."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from pathlib import Path

from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation, SnmpSample
from netwatch.collectors.snmp.types import Target


def run_poll(args: argparse.Namespace, target: Target) -> int:
    from netwatch.collectors.snmp.collector import probe_target
    from netwatch.collectors.snmp.engine import SnmpEngine
    from netwatch.collectors.snmp.profile_load import load_profiles
    from netwatch.collectors.snmp.profiles import ProfileError

    try:
        pset = load_profiles([Path(d) for d in args.profiles_dir])
        if args.profile and args.profile not in pset.profiles:
            known = ", ".join(sorted(pset.profiles))
            print(f"netwatch snmp poll: unknown profile {args.profile!r} (known: {known})",
                  file=sys.stderr)  # fmt: skip
            return 2
    except ProfileError as exc:
        print(f"netwatch snmp poll: {exc}", file=sys.stderr)
        return 2

    async def main() -> SnmpObservation:
        async with SnmpEngine() as engine:
            return await probe_target(target.address, target, engine, pset, args.profile)

    obs = asyncio.run(main())
    if args.json:
        json.dump(dataclasses.asdict(obs), sys.stdout, indent=1, default=str)
        print()
    else:
        print_text(obs)
    if obs.error:
        print(f"netwatch snmp poll: {obs.error}: {obs.message}", file=sys.stderr)
        return 1
    return 0


def _labels(sample: SnmpSample) -> str:
    return ",".join(f'{k}="{v}"' for k, v in sample.labels)


def _counters(i: SnmpInterface) -> str:
    """Octet counters and their width; '-' for a counter the agent does not give."""
    if i.in_octets is None and i.out_octets is None:
        return "in=- out=-"
    shown = ["-" if v is None else str(v) for v in (i.in_octets, i.out_octets)]
    return f"in={shown[0]} out={shown[1]} ({i.counter_bits}-bit)"


def print_text(obs: SnmpObservation) -> None:
    print(f"device      {obs.device}  ({obs.duration * 1000:.0f} ms)")
    if obs.error:
        return
    print(f"sysName     {obs.sys_name}")
    print(f"sysDescr    {obs.sys_descr.splitlines()[0] if obs.sys_descr else ''}")
    print(f"sysObjectID {obs.sys_object_id}")
    if obs.uptime_ticks is not None:
        print(f"uptime      {obs.uptime_ticks / 100:.0f} s ({obs.uptime_source})")
    print(f"profiles    {' + '.join(obs.profiles)}")
    if obs.profiles:
        print(f"matched     {obs.profiles[-1]} (confidence {obs.profile_confidence or '?'}): "
              f"{obs.profile_reason}")  # fmt: skip
    if obs.cpu_load_ratio is not None:
        print(f"cpu         {obs.cpu_load_ratio:.2f}")
    if obs.memory_total_bytes:
        print(f"memory      {obs.memory_used_bytes or 0:.0f} / {obs.memory_total_bytes:.0f} bytes")
    print(f"interfaces  {len(obs.interfaces)}")
    for i in obs.interfaces:
        status = {1: "up", 2: "down"}.get(i.oper_status or 0, str(i.oper_status))
        radio = " radio" if i.radio else ""
        print(f"  {i.index:>10} {i.name:<24} {status:<5} {_counters(i)}{radio}")
    for title, samples in (("wifi", obs.wifi_clients), ("optical", obs.optical),
                           ("other", obs.samples)):  # fmt: skip
        for s in samples:
            print(f"{title:<11} {s.metric}{{{_labels(s)}}} {s.value:g}")
    for err in obs.partial_errors:
        print(f"partial     {err}")
