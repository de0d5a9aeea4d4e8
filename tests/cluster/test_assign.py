"""Shard assignment: deterministic, about 1/N moves when a shard is added, pins, parents kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace

import pytest

from bench.synth_inventory import generate, read_counts, to_inventory
from netwatch.cluster.assign import inventory_plan, plan
from netwatch.cluster.member import shard_view
from netwatch.config import ConfigError, load_inventory
from netwatch.core.model import DistrictShard, Inventory
from tests.config.test_regions import PROVINCE
from tests.helpers.configs import line_of, write
from tests.helpers.procs import repo_root


@pytest.fixture(scope="module")
def national():
    """The synthetic national inventory: 7,285 districts, 83,762 villages (real counts)."""
    return to_inventory(generate(read_counts()), aps=2)


def test_synthetic_inventory_has_the_national_counts(national):
    # configs/wilayah/indonesia_counts.md: 38 provinces, 514 regencies, 7,285 kecamatan,
    # 8,496 kelurahan + 75,252 desa + 14 desa adat = 83,762.
    assert len(national.provinces) == 38
    assert len(national.regencies) == 514
    assert len(national.districts) == 7285
    assert len(national.villages) == 83762
    kinds = Counter(code[9] for code in national.villages)
    assert kinds == {"1": 8496, "2": 75252, "3": 14}
    assert len(national.devices) == 7285 + 83762 * 3


@pytest.mark.parametrize("shards", [2, 3, 4, 8, 16])
def test_adding_a_shard_moves_about_one_in_n_plus_one_districts_all_to_it(national, shards):
    before = inventory_plan(national, shards)
    after = inventory_plan(national, shards + 1)
    moved = [c for c in before if before[c] != after[c]]
    share = len(moved) / len(before)
    expected = 1 / (shards + 1)
    assert 0.85 * expected < share < 1.15 * expected, (len(moved), share)
    # Rendezvous hashing: nothing moves between the old shards, only to the new one.
    assert {after[c] for c in moved} == {shards}


def test_removing_a_shard_moves_only_its_districts(national):
    five, four = inventory_plan(national, 5), inventory_plan(national, 4)
    assert {c for c in five if five[c] != four[c]} == {c for c in five if five[c] == 4}


def test_shards_are_balanced_by_villages(national):
    shard_of = inventory_plan(national, 4)
    villages = Counter()
    for code, d in national.districts.items():
        villages[shard_of[code]] += len(d.villages)
    mean = len(national.villages) / 4
    assert set(villages) == {0, 1, 2, 3}
    assert all(abs(v - mean) < 0.1 * mean for v in villages.values()), villages


def test_plan_does_not_depend_on_the_process(tmp_path):
    """Same plan in another interpreter with another hash seed (no use of Python's hash())."""
    codes = [f"35.{r:02d}.{d:02d}" for r in range(1, 30) for d in range(1, 20)]
    script = (
        "import json, sys; from netwatch.cluster.assign import plan; "
        "codes = json.loads(sys.argv[1]); "
        "print(json.dumps(plan(dict.fromkeys(codes), [], 7)))"
    )
    runs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script, json.dumps(codes)],
            capture_output=True, text=True, check=True, env=env, cwd=repo_root(),
        ).stdout  # fmt: skip
        runs.append(json.loads(out))
    assert runs[0] == runs[1] == plan(dict.fromkeys(codes), [], 7)


def test_a_parent_in_another_district_pulls_that_district_along():
    codes = [f"35.10.{d:02d}" for d in range(1, 26)]
    alone = plan(dict.fromkeys(codes), [], 5)
    # Find two districts the hash puts apart, then link them by a parent.
    a, b = next((a, b) for a in codes for b in codes if alone[a] != alone[b])
    joined = plan(dict.fromkeys(codes), [(b, a)], 5)
    assert joined[a] == joined[b]
    pinned = plan({**dict.fromkeys(codes), b: 3}, [(b, a)], 5)
    assert pinned[a] == pinned[b] == 3


def test_views_split_the_inventory_and_keep_every_parent(national):
    seen: set[str] = set()
    for shard in range(3):
        inv = shard_view(national_with(national, 3), shard)
        assert inv.shard == shard
        for dev in inv.devices.values():
            assert dev.parent is None or dev.parent in inv.devices, dev
        for v in inv.villages.values():
            assert v.district in inv.districts
        assert not seen & inv.devices.keys()
        seen |= inv.devices.keys()
    assert seen == national.devices.keys()


def national_with(inv: Inventory, shards: int) -> Inventory:
    """inv with its assignment planned for shards."""

    shard_of = inventory_plan(inv, shards)
    return replace(
        inv,
        assignment=tuple(
            DistrictShard(c, d.name, shard_of[c], len(d.villages)) for c, d in inv.districts.items()
        ),
    )


# --- Pins in a config file: district and regency `shard:`; errors at file:line ----------------


def with_cluster(text: str, shards: int) -> str:
    return f"settings:\n  cluster: {{shards: {shards}, replicas: 2}}\n" + text


def test_district_pin_wins_over_regency_pin(tmp_path):
    text = with_cluster(PROVINCE, 4)
    text = text.replace("name: Jember\n", "name: Jember\n      shard: 2\n")
    text = text.replace("name: Jombang\n", "name: Jombang\n          shard: 3\n")
    text = text.replace("name: Banyuwangi\n", "name: Banyuwangi\n      shard: 1\n")
    inv = load_inventory(write(tmp_path, text))
    got = {a.district: a.shard for a in inv.assignment}
    assert got == {"35.10.01": 1, "35.09.01": 3}
    assert inv.settings.cluster.replicas == 2


def test_pin_out_of_range_names_its_line(tmp_path):
    text = with_cluster(PROVINCE, 2).replace("name: Jember\n", "name: Jember\n      shard: 2\n")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    assert info.value.errors == [
        f"{path}:{line_of(text, 'shard: 2')}: province.regencies[1].shard: shard 2 does not "
        "exist: settings.cluster.shards is 2 (shards 0-1)"
    ]


def test_parent_across_pinned_shards_is_an_error_at_the_parent_line(tmp_path):
    # Jember's POP hangs off Banyuwangi's POP, but the two regencies are pinned apart.
    text = with_cluster(PROVINCE, 2)
    text = text.replace("name: Jember\n", "name: Jember\n      shard: 1\n")
    text = text.replace("name: Banyuwangi\n", "name: Banyuwangi\n      shard: 0\n")
    text = text.replace(
        "{name: pop-j1, role: router, address: 127.9.0.1}",
        "{name: pop-j1, role: router, address: 127.9.0.1, parent: pop-1}",
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    assert info.value.errors == [
        f"{path}:{line_of(text, '127.9.0.1, parent: pop-1')}: province.regencies[1].districts[0]"
        ".devices[0].parent: parent 'pop-1' is in district 35.10.01, which is pinned to shard 0 "
        f"(by {path}:{line_of(text, 'shard: 0')}), but district 35.09.01 is pinned to shard 1 "
        f"(by {path}:{line_of(text, 'shard: 1')}): a device and its parent must be on one shard"
    ]
    # Without pins the two districts simply share a shard.
    free = text.replace("      shard: 1\n", "").replace("      shard: 0\n", "")
    inv = load_inventory(write(tmp_path, free, "free.yaml"))
    got = {a.district: a.shard for a in inv.assignment}
    assert got["35.10.01"] == got["35.09.01"]


def test_config_shards_command_prints_the_default_split(tmp_path):
    def run(*args: str) -> str:
        return subprocess.run(
            [sys.executable, "-m", "netwatch", "config", "shards", *args],
            capture_output=True, text=True, check=True, cwd=repo_root(),
        ).stdout  # fmt: skip

    out = run("--shards", "3", "--moves-from", "2")
    rows = [line.split() for line in out.splitlines()[2:5]]
    assert [r[0] for r in rows] == ["0", "1", "2"]
    # The default inventory: 25 districts, 217 villages, 487 devices (README).
    assert sum(int(r[1]) for r in rows) == 25
    assert sum(int(r[2]) for r in rows) == 217
    assert sum(int(r[3]) for r in rows) == 487
    assert "from 2 to 3 shards:" in out.splitlines()[5]
    rows = [json.loads(line) for line in run("--shards", "3", "--json").splitlines()]
    by_shard = Counter(r["shard"] for r in rows)
    assert [int(r[1]) for r in [line.split() for line in out.splitlines()[2:5]]] == [
        by_shard[0],
        by_shard[1],
        by_shard[2],
    ]
    listing = run("--shards", "3", "--shard", "1")
    first = next(r for r in rows if r["shard"] == 1)
    assert listing.startswith(f"{first['district']} {first['district_name']} (Banyuwangi)")
