"""Plan the shards at load time: pins out of range or at odds across a parent link are errors."""

from __future__ import annotations

from netwatch.cluster.assign import plan
from netwatch.config.errors import Issues
from netwatch.config.regency import Placed, Tree
from netwatch.core.model import DistrictShard


def check_shards(tree: Tree, shards: int, issues: Issues) -> tuple[DistrictShard, ...]:
    """Plan the parsed tree; pins out of range or at odds across a parent link are errors."""
    regency_pin: dict[str, int | None] = {}
    regency_at: dict[str, Placed] = {}
    for p in tree.regencies:
        regency_pin[p.item.code] = _in_range(p, shards, issues)
        regency_at.setdefault(p.item.code, p)
    pins: dict[str, int | None] = {}
    placed: dict[str, Placed] = {}
    for p in tree.districts:
        code = p.item.code
        if code in pins:
            continue  # a duplicate, reported by check_tree
        own = _in_range(p, shards, issues)
        pins[code] = own if p.item.shard is not None else regency_pin.get(code[:5])
        placed[code] = p
    by_name = {p.item.name: p for p in tree.devices}
    links: list[tuple[str, str]] = []
    edges: dict[tuple[str, str], tuple[Placed, str, str]] = {}  # → (where, key, device named)
    # A device's parent, a village's OLT or POP port and an AP's controller: one shard each.
    named: list[tuple[Placed, str, str, str | None]] = []
    for p in tree.devices:
        dev = p.item
        named.append((p, dev.district, "parent", dev.parent))
        if dev.controller is not None:
            named.append((p, dev.district, "controller", dev.controller.device))
    for p in tree.villages:
        v = p.item
        if v.onu is not None:
            named.append((p, v.district, "onu", v.onu.olt))
        if v.uplink is not None:
            named.append((p, v.district, "uplink", v.uplink.device))
    for p, district, key, name in named:
        other = by_name.get(name) if name is not None else None
        if other is None or not district or other.item.district == district:
            continue
        link = (district, other.item.district)
        links.append(link)
        edges.setdefault(link, (p, key, other.item.name))

    def pin_source(district: str) -> str:
        p = placed[district]
        if p.item.shard is None:  # pinned through its regency
            p = regency_at[district[:5]]
        where = p.loc.key(p.node, "shard")
        return f"{where.file}:{where.line}"

    def conflict(district: str, parent_district: str, pinner_a: str, pinner_b: str) -> None:
        p, key, name = edges[(district, parent_district)]
        where = p.loc.key(p.node, key)
        what = "parent" if key == "parent" else f"{key} device"
        issues.at(
            where,
            f"{what} {name!r} is in district {parent_district}, which is pinned to "
            f"shard {pins[pinner_b]} (by {pin_source(pinner_b)}), but district "
            f"{district} is pinned to shard {pins[pinner_a]} (by {pin_source(pinner_a)}): "
            f"a {'device and its parent' if key == 'parent' else 'link and its device'} "
            "must be on one shard",
        )

    shard_of = plan(pins, links, shards, conflict)
    return tuple(
        DistrictShard(code, placed[code].item.name, shard_of[code], len(placed[code].item.villages))
        for code in pins
    )


def _in_range(p: Placed, shards: int, issues: Issues) -> int | None:
    pin = p.item.shard
    if pin is not None and pin >= shards:
        issues.at(
            p.loc.key(p.node, "shard"),
            f"shard {pin} does not exist: settings.cluster.shards is {shards} "
            f"(shards 0-{shards - 1})",
        )
        return None
    return pin
