"""The packaged Banyuwangi inventory against the committed village lists (configs/wilayah)."""

from __future__ import annotations

import csv
import ipaddress
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from netwatch.config import default_config_path, load_inventory
from netwatch.core.model import Role
from tests.helpers.data import REPO, WILAYAH_DIR


@pytest.fixture(scope="module")
def inv():
    return load_inventory(default_config_path())


def _csv(name: str) -> list[dict[str, str]]:
    with (WILAYAH_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_counts(inv):
    assert len(inv.districts) == 25
    assert len(inv.villages) == 217
    kinds = Counter(v.kind.value for v in inv.villages.values())
    assert kinds == {"desa": 189, "kelurahan": 28}
    assert (inv.regency_code, inv.regency_name) == ("35.10", "Banyuwangi")


def test_villages_match_the_village_list(inv):
    rows = _csv("banyuwangi_villages.csv")
    assert len(rows) == 217
    assert set(inv.villages) == {r["kode"] for r in rows}
    for r in rows:
        v = inv.villages[r["kode"]]
        assert (v.name, v.kind.value, v.district) == (r["nama"], r["jenis"], r["kecamatan_kode"])
        assert v.lat == pytest.approx(float(r["lat"]), abs=1e-9)
        assert v.lon == pytest.approx(float(r["lon"]), abs=1e-9)


def test_districts_match_the_district_list(inv):
    rows = _csv("banyuwangi_kecamatan.csv")
    assert [d.code for d in inv.districts.values()] == [r["kode"] for r in rows]
    for r in rows:
        d = inv.districts[r["kode"]]
        assert d.name == r["nama"]
        assert len(d.villages) == int(r["villages"])
        kinds = Counter(inv.villages[c].kind.value for c in d.villages)
        assert (kinds["desa"], kinds["kelurahan"]) == (int(r["desa"]), int(r["kelurahan"]))


def test_address_plan_and_topology(inv):
    for code, d in inv.districts.items():
        n = int(code.split(".")[2])
        (pop,) = d.devices
        assert inv.devices[pop].address == f"127.{n}.0.1"
        assert inv.devices[pop].parent is None
        for seq, vcode in enumerate(sorted(d.villages), start=1):
            village = inv.villages[vcode]
            devs = inv.village_devices(vcode)
            roles = [x.role for x in devs]
            extra = 1 if village.kind.value == "kelurahan" else 0
            assert roles == [Role.ROUTER, Role.AP] + [Role.AP] * extra
            router = devs[0]
            assert router.address == f"127.{n}.{seq}.1"
            assert router.parent == pop
            assert [x.address for x in devs[1:]] == [
                f"127.{n}.{seq}.{k}" for k in range(2, 3 + extra)
            ]
            assert all(x.parent == router.name for x in devs[1:])
    addrs = [ipaddress.ip_address(x.address) for x in inv.devices.values()]
    assert all(a in ipaddress.ip_network("127.0.0.0/8") for a in addrs)
    assert len(set(addrs)) == len(addrs) == 25 + 217 * 2 + 28
    assert {x.snmp for x in inv.devices.values()} == {"demo-v2"}
    assert inv.credentials["demo-v2"].community.env == "NETWATCH_SNMP_COMMUNITY"


def test_committed_file_is_the_generator_output(tmp_path):
    # The generator's defaults: the committed village data in, a file out; nothing else read.
    out = tmp_path / "gen.yaml"
    subprocess.run(
        [sys.executable, str(REPO / "scripts/gen_default_inventory.py"), "--output", str(out)],
        check=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert out.read_bytes() == (REPO / "configs/banyuwangi.yaml").read_bytes()


def test_packaged_default_after_plain_install(tmp_path):
    """A non-editable install outside the repo ships the default inventory and finds it."""
    # Build from a copy: a build writes build/ and *.egg-info next to the sources.
    src = tmp_path / "src"
    skip = shutil.ignore_patterns(".venv", "__pycache__", "build", "*.egg-info", ".git")
    for name in ("netwatch", "collectors", "exporters", "configs"):
        shutil.copytree(REPO / name, src / name, ignore=skip)
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "NOTICE"):
        if (REPO / name).exists():
            shutil.copy(REPO / name, src / name)
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target)]
    subprocess.run([*pip, str(src)], check=True, timeout=300, capture_output=True)
    code = (
        "import netwatch.config as c; p = c.default_config_path(); "
        "print(p); print(len(c.load_inventory(p).villages))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    res = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    path, count = res.stdout.split()
    assert Path(path) == target / "netwatch/configs/banyuwangi.yaml"
    assert count == "217"
