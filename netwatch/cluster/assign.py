"""Which shard watches which district: deterministic from the config alone.

The unit of assignment is a group of districts joined by parent links: a district's POP and
its villages always travel together, and a device whose parent sits in another district pulls
that district along (root-cause alerts need the parent on the same shard), as does a village's
OLT or POP port and an AP's controller (their polls say why it is down). A group goes to
the shard pinned by `shard:` (district first, then its regency), else to the winner of
rendezvous hashing of its first district code: adding shard N moves only the groups whose new
winner is N, about 1/(N+1) of them, and nothing moves between the old shards. Pins and their
errors (file:line) are checked at load time in netwatch.config.shards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping

from netwatch.core.model import Inventory, OnuLink


def rendezvous(key: str, shards: int) -> int:
    """The shard whose hash with key scores highest (highest random weight hashing)."""
    best, best_score = 0, -1
    for shard in range(shards):
        digest = hashlib.blake2b(f"{shard}\x00{key}".encode(), digest_size=8).digest()
        score = int.from_bytes(digest, "big")
        if score > best_score:
            best, best_score = shard, score
    return best


class Groups:
    """Union-find over district codes; each group keeps the pin of any of its districts."""

    def __init__(self, pins: Mapping[str, int | None]) -> None:
        self._up: dict[str, str] = {code: code for code in pins}
        self.pin: dict[str, int | None] = dict(pins)
        self.pinned_by: dict[str, str] = {c: c for c, p in pins.items() if p is not None}

    def find(self, code: str) -> str:
        root = code
        while self._up[root] != root:
            root = self._up[root]
        while self._up[code] != root:  # path compression
            self._up[code], code = root, self._up[code]
        return root

    def join(self, a: str, b: str) -> tuple[str, str] | None:
        """Merge a's and b's groups; on two different pins keep a's and return both pinners."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        pa, pb = self.pin[ra], self.pin[rb]
        if pa is not None and pb is not None and pa != pb:
            return self.pinned_by[ra], self.pinned_by[rb]
        if rb < ra:  # the smaller code stays root: the group's hash key is its first code
            ra, rb, pa, pb = rb, ra, pb, pa
        self._up[rb] = ra
        if pa is None and pb is not None:
            self.pin[ra] = pb
            self.pinned_by[ra] = self.pinned_by[rb]
        return None

    def shards(self, count: int) -> dict[str, int]:
        out: dict[str, int] = {}
        of_root: dict[str, int] = {}
        for code in self._up:
            root = self.find(code)
            if root not in of_root:
                pin = self.pin[root]
                of_root[root] = pin if pin is not None else rendezvous(root, count)
            out[code] = of_root[root]
        return out


def plan(
    pins: Mapping[str, int | None],
    links: Iterable[tuple[str, str]],
    shards: int,
    conflict: Callable[[str, str, str, str], None] | None = None,
) -> dict[str, int]:
    """District → shard. pins: every district with its pin or None; links: (district,
    parent's district) pairs; conflict(district, parent_district, pinner_a, pinner_b)."""
    groups = Groups(pins)
    for a, b in links:
        if a == b or a not in pins or b not in pins:
            continue
        clash = groups.join(a, b)
        if clash is not None and conflict is not None:
            conflict(a, b, *clash)
    return groups.shards(shards)


def inventory_plan(inv: Inventory, shards: int) -> dict[str, int]:
    """The plan of a loaded inventory for a given shard count (what-if and tests)."""
    pins = {
        code: d.shard if d.shard is not None else inv.regency_of(code).shard
        for code, d in inv.districts.items()
    }
    named = [(dev.district, dev.parent) for dev in inv.devices.values()]
    named += [(d.district, d.controller.device) for d in inv.devices.values() if d.controller]
    for v in inv.villages.values():
        named += [(v.district, x.olt if isinstance(x, OnuLink) else x.device) for x in v.links()]
    links = [
        (district, inv.devices[name].district)
        for district, name in named
        if name is not None and name in inv.devices
    ]
    return plan(pins, links, shards)
