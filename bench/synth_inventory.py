"""A synthetic inventory of national size with Indonesia's real counts per province.

The counts (38 provinces, 514 regencies, 7,285 districts, 83,762 villages) come from
configs/wilayah/national_per_province.csv (source: configs/wilayah/indonesia_counts.md). Codes
follow Kemendagri's shape (kabupaten NN.01-69, kota NN.71-99; 1xxx kelurahan, 2xxx desa, 3xxx
desa adat); names are made up; districts and villages are spread over the regencies at random
(seeded, so the same file every time) with kota districts taking kelurahan first. Each district
has a POP router; each village a router and `--aps` access points, on 127.0.0.0/8 addresses.

    .venv/bin/python bench/synth_inventory.py national.yaml               # 83,762 villages
    .venv/bin/python bench/synth_inventory.py bench50k.yaml --max-devices 50000
    .venv/bin/python bench/synth_inventory.py jatim.yaml --provinces 35 --shards 4 --replicas 2

Tests import it too (to_inventory builds the model in memory, without YAML).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from netwatch.core.model import Inventory

REPO = Path(__file__).resolve().parent.parent
COUNTS = REPO / "configs" / "wilayah" / "national_per_province.csv"
SEED = 20261203


@dataclass(frozen=True, slots=True)
class ProvinceCounts:
    code: str
    name: str
    kab: int
    kota: int
    kec: int
    kel: int
    desa: int
    other: int  # desa adat

    @property
    def villages(self) -> int:
        return self.kel + self.desa + self.other


@dataclass(slots=True)
class District:
    code: str
    villages: list[str] = field(default_factory=list)  # village codes (kind from the code)


@dataclass(slots=True)
class Regency:
    code: str
    kota: bool
    districts: list[District] = field(default_factory=list)


@dataclass(slots=True)
class Province:
    code: str
    name: str
    regencies: list[Regency] = field(default_factory=list)


def read_counts(path: Path = COUNTS) -> list[ProvinceCounts]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            ProvinceCounts(
                r["kode"],
                r["nama"],
                *(int(r[k]) for k in ("kab", "kota", "kec", "kel", "desa", "other")),
            )
            for r in csv.DictReader(fh)
        ]


def _add(counts: list[int], total: int, weights: list[float], rng: random.Random) -> None:
    for i in rng.choices(range(len(counts)), weights, k=total):
        counts[i] += 1


def generate(counts: list[ProvinceCounts], seed: int = SEED) -> list[Province]:
    """Provinces with regencies, districts and villages in the given counts."""
    rng = random.Random(seed)
    provinces = []
    for pc in counts:
        province = Province(pc.code, pc.name)
        for i in range(pc.kab):
            province.regencies.append(Regency(f"{pc.code}.{i + 1:02d}", kota=False))
        for i in range(pc.kota):
            province.regencies.append(Regency(f"{pc.code}.{71 + i:02d}", kota=True))
        # A kota has fewer, denser districts than a kabupaten (about 1 to 3 in the real list).
        per_regency = [1] * len(province.regencies)
        weights = [1.0 if r.kota else 3.0 for r in province.regencies]
        _add(per_regency, pc.kec - len(per_regency), weights, rng)
        ds: list[District] = []
        in_kota: list[bool] = []
        for regency, n in zip(province.regencies, per_regency, strict=True):
            for j in range(n):
                regency.districts.append(District(f"{regency.code}.{j + 1:02d}"))
                in_kota.append(regency.kota)
            ds.extend(regency.districts)
        _villages(ds, in_kota, pc, rng)
        provinces.append(province)
    return provinces


def _villages(
    ds: list[District], in_kota: list[bool], pc: ProvinceCounts, rng: random.Random
) -> None:
    """One village for every district first, then kelurahan mostly to kota districts and
    desa mostly to kabupaten ones."""
    kel, desa = [0] * len(ds), [0] * len(ds)
    kel_left, desa_left = pc.kel, pc.desa + pc.other
    for i, kota in enumerate(in_kota):
        if kel_left and (kota or not desa_left):
            kel[i], kel_left = 1, kel_left - 1
        elif desa_left:
            desa[i], desa_left = 1, desa_left - 1
    _add(kel, kel_left, [4.0 if k else 1.0 for k in in_kota], rng)
    _add(desa, desa_left, [0.05 if k else 1.0 for k in in_kota], rng)
    adat = pc.other  # desa adat (3xxx): the first desa slots of the province
    for d, n_kel, n_desa in zip(ds, kel, desa, strict=True):
        n_adat = min(adat, n_desa)
        adat -= n_adat
        d.villages += [f"{d.code}.{1001 + i}" for i in range(n_kel)]
        d.villages += [f"{d.code}.{2001 + i}" for i in range(n_desa - n_adat)]
        d.villages += [f"{d.code}.{3001 + i}" for i in range(n_adat)]


def limit(provinces: list[Province], max_devices: int, aps: int) -> list[Province]:
    """Whole districts in code order until max_devices would be passed."""
    out: list[Province] = []
    used = 0
    for p in provinces:
        keep = Province(p.code, p.name)
        for r in p.regencies:
            kr = Regency(r.code, r.kota)
            for d in r.districts:
                n = 1 + len(d.villages) * (1 + aps)
                if used + n > max_devices:
                    break
                kr.districts.append(d)
                used += n
            if kr.districts:
                keep.regencies.append(kr)
        if keep.regencies:
            out.append(keep)
    return out


def address(n: int) -> str:
    """The n-th device address: 127.1.0.1 onwards, skipping .0 and .255."""
    n += (n // 254) * 2 + 1 + (1 << 16)
    return f"127.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def devices(provinces: list[Province], aps: int) -> Iterator[tuple[str, str, str, str, str]]:
    """(village or "", name, role, address, parent) in file order."""
    n = 0
    for p in provinces:
        for r in p.regencies:
            for d in r.districts:
                slug = d.code.replace(".", "-")
                pop = f"pop-{slug}"
                yield "", pop, "router", address(n), ""
                n += 1
                for v in d.villages:
                    vs = v.replace(".", "-")
                    yield v, f"r-{vs}", "router", address(n), pop
                    n += 1
                    for a in range(aps):
                        yield v, f"ap{a + 1}-{vs}", "ap", address(n), f"r-{vs}"
                        n += 1


def write_yaml(
    provinces: list[Province], out: Path, aps: int = 2, shards: int = 1, replicas: int = 1
) -> dict[str, int]:
    """One root file in the `provinces:` form; returns the counts written."""
    per_village: dict[str, list[str]] = {}
    pops: dict[str, str] = {}
    for village, name, role, addr, parent in devices(provinces, aps):
        flow = f"{{name: {name}, role: {role}, address: {addr}"
        flow += f", parent: {parent}}}" if parent else "}"
        if village:
            per_village.setdefault(village, []).append(flow)
        else:
            pops[name] = flow
    lines = [
        "# Synthetic national-size inventory: real counts per province, made-up names.",
        "# Written by bench/synth_inventory.py; not a real network (127.0.0.0/8 addresses).",
        "settings:",
        "  ping: {interval: 30s, count: 5, spacing: 200ms, timeout: 1s}",
        "  scheduler: {max_concurrency: 2000}",
        f"  cluster: {{shards: {shards}, replicas: {replicas}}}",
        "provinces:",
    ]
    counts = {"provinces": 0, "regencies": 0, "districts": 0, "villages": 0}
    for p in provinces:
        counts["provinces"] += 1
        lines += [f'  - code: "{p.code}"', f"    name: {p.name}", "    regencies:"]
        for r in p.regencies:
            counts["regencies"] += 1
            kind = "Kota" if r.kota else "Kabupaten"
            lines += [
                f'      - code: "{r.code}"',
                f"        name: {kind} {r.code.replace('.', '')}",
                "        districts:",
            ]
            for d in r.districts:
                counts["districts"] += 1
                slug = d.code.replace(".", "-")
                lines += [
                    f'          - code: "{d.code}"',
                    f"            name: Kecamatan {d.code.replace('.', '')}",
                    f"            devices: [{pops[f'pop-{slug}']}]",
                    "            villages:",
                ]
                for v in d.villages:
                    counts["villages"] += 1
                    lines += [
                        f'              - code: "{v}"',
                        f"                name: Desa {v.replace('.', '')}",
                        "                devices:",
                    ]
                    lines += [f"                  - {f}" for f in per_village[v]]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    counts["devices"] = len(pops) + sum(len(v) for v in per_village.values())
    return counts


def to_inventory(provinces: list[Province], aps: int = 2, shards: int = 1) -> Inventory:
    """The same inventory as model objects, without YAML (fast enough for tests)."""
    from netwatch.cluster.assign import plan
    from netwatch.core import model as m

    devs: dict[str, m.Device] = {}
    by_village: dict[str, list[str]] = {}
    by_district: dict[str, list[str]] = {}
    for village, name, role, addr, parent in devices(provinces, aps):
        district = village[:8] if village else name[4:].replace("-", ".")
        devs[name] = m.Device(name, m.Role(role), addr, district, village or None, parent or None)
        if village:
            by_village.setdefault(village, []).append(name)
        else:
            by_district.setdefault(district, []).append(name)
    districts, villages, regencies, provs = {}, {}, {}, {}
    for p in provinces:
        for r in p.regencies:
            for d in r.districts:
                districts[d.code] = m.District(
                    d.code, f"Kecamatan {d.code}", tuple(d.villages), tuple(by_district[d.code])
                )
                for v in d.villages:
                    kind = m.VillageKind.KELURAHAN if v[9] == "1" else m.VillageKind.DESA
                    villages[v] = m.Village(
                        v, f"Desa {v}", kind, d.code, devices=tuple(by_village[v])
                    )
            regencies[r.code] = m.Regency(
                r.code, f"Regency {r.code}", tuple(d.code for d in r.districts)
            )
        provs[p.code] = m.Province(p.code, p.name, tuple(r.code for r in p.regencies))
    shard_of = plan(dict.fromkeys(districts), [], shards)
    assignment = tuple(
        m.DistrictShard(c, d.name, shard_of[c], len(d.villages)) for c, d in districts.items()
    )
    settings = m.Settings(cluster=m.ClusterSettings(shards=shards))
    return m.Inventory(
        "", "", settings, districts, villages, devs, {}, "", regencies, provs, assignment
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="root config file to write")
    ap.add_argument("--provinces", help="only these province codes, e.g. 35 or 33,35")
    ap.add_argument("--max-devices", type=int, help="whole districts up to this many devices")
    ap.add_argument("--aps", type=int, default=2, help="access points per village (default 2)")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--replicas", type=int, default=1)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    provinces = generate(read_counts(), args.seed)
    if args.provinces:
        wanted = set(args.provinces.split(","))
        provinces = [p for p in provinces if p.code in wanted]
    if args.max_devices:
        provinces = limit(provinces, args.max_devices, args.aps)
    counts = write_yaml(provinces, args.out, args.aps, args.shards, args.replicas)
    print(f"{args.out}: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
