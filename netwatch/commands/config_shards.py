"""`netwatch config shards [PATH]`: which shard watches which district, and what would move."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("shards", help="print the shard assignment of a config")
    p.add_argument("path", nargs="?", help="root config file (default: the packaged one)")
    p.add_argument("--shards", type=int, help="plan for this many shards instead (what-if)")
    p.add_argument(
        "--moves-from",
        type=int,
        metavar="N",
        help="also count the districts that move when going from N shards to this plan",
    )
    p.add_argument("--shard", type=int, help="list the districts and villages of this shard")
    p.add_argument("--json", action="store_true", help="one JSON object per district")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from netwatch.cluster.assign import inventory_plan
    from netwatch.config import ConfigError, default_config_path, load_inventory

    path = args.path or default_config_path()
    try:
        inv = load_inventory(path)
    except ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        return 1
    count = args.shards or inv.settings.cluster.shards
    if count < 1:
        print("netwatch config shards: --shards must be at least 1", file=sys.stderr)
        return 2
    pins = {c: inv.regency_of(c).shard if d.shard is None else d.shard
            for c, d in inv.districts.items()}  # fmt: skip
    too_high = sorted(c for c, s in pins.items() if s is not None and s >= count)
    if too_high:
        print(f"netwatch config shards: {len(too_high)} district(s) are pinned to a shard "
              f"above {count - 1}, e.g. {too_high[0]}", file=sys.stderr)  # fmt: skip
        return 2
    if args.shards:
        plan = inventory_plan(inv, count)
    else:
        plan = {a.district: a.shard for a in inv.assignment}
    devices = Counter(d.district for d in inv.devices.values())
    if args.json:
        for code, d in inv.districts.items():
            r = inv.regency_of(code)
            row = {
                "district": code,
                "district_name": d.name,
                "regency": r.code,
                "regency_name": r.name,
                "shard": plan[code],
                "villages": len(d.villages),
                "devices": devices[code],
            }
            print(json.dumps(row, ensure_ascii=False))
        return 0
    if args.shard is not None:
        return _one_shard(inv, plan, args.shard, devices)
    print(f"{path}: {count} shard(s), {inv.settings.cluster.replicas} replica(s) each")
    print(f"{'shard':>5} {'districts':>9} {'villages':>9} {'devices':>9}")
    for shard in range(count):
        codes = [c for c, s in plan.items() if s == shard]
        villages = sum(len(inv.districts[c].villages) for c in codes)
        print(f"{shard:>5} {len(codes):>9} {villages:>9} {sum(devices[c] for c in codes):>9}")
    if args.moves_from is not None:
        before = inventory_plan(inv, args.moves_from)
        moved = [c for c in plan if plan[c] != before[c]]
        villages = sum(len(inv.districts[c].villages) for c in moved)
        print(
            f"from {args.moves_from} to {count} shards: {len(moved)} of {len(plan)} districts "
            f"move ({len(moved) / max(1, len(plan)):.1%}), {villages} villages"
        )
    return 0


def _one_shard(inv, plan: dict[str, int], shard: int, devices: Counter) -> int:
    codes = [c for c in inv.districts if plan[c] == shard]
    if not codes:
        print(f"shard {shard} holds no district", file=sys.stderr)
        return 1
    for code in codes:
        d = inv.districts[code]
        r = inv.regency_of(code)
        print(f"{code} {d.name} ({r.name or r.code}): {len(d.villages)} villages, "
              f"{devices[code]} devices")  # fmt: skip
        for v in d.villages:
            print(f"  {v} {inv.villages[v].name}")
    return 0
