"""The committed data the tests and generators read: complete, unchanged, consistent.

Recordings are checked against the upstream git blob hashes in their MANIFEST.md (so a copy
that was edited, re-encoded or line-ending-converted fails); the village data against the
counts its own SOURCES.md and indonesia_counts.md state.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re

from ruamel.yaml import YAML

from tests.helpers.data import PEERS_DIR, SNMPREC_DIR, WILAYAH_DIR


def git_blob_sha1(data: bytes) -> str:
    """The id git gives a file's content (`git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def manifest_rows() -> dict[str, tuple[int, str]]:
    """file → (bytes, blob prefix) from the summary table of MANIFEST.md."""
    rows = {}
    for line in (SNMPREC_DIR / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 10 and cells[0].endswith(".snmprec"):
            rows[cells[0]] = (int(cells[3]), cells[8])
    return rows


def test_recordings_are_byte_identical_to_upstream() -> None:
    rows = manifest_rows()
    assert len(rows) == 19
    on_disk = {p.name: p.read_bytes() for p in SNMPREC_DIR.glob("*.snmprec")}
    assert set(on_disk) == set(rows)
    for name, data in on_disk.items():
        size, blob = rows[name]
        assert len(data) == size, name
        assert re.fullmatch(r"[0-9a-f]{12}", blob) and git_blob_sha1(data).startswith(blob), name
    assert sum(len(d) for d in on_disk.values()) == 1_897_305  # MANIFEST.md's stated total


def test_recordings_carry_their_licence() -> None:
    notice = (SNMPREC_DIR / "LICENSE.md").read_text(encoding="utf-8")
    assert "GPL-3.0-or-later" in notice and "20bb2ea6091026437c2e1819ed26e51dcc4f3d8c" in notice
    gpl = (SNMPREC_DIR / "COPYING").read_text(encoding="utf-8")
    assert gpl.lstrip().startswith("GNU GENERAL PUBLIC LICENSE") and "Version 3" in gpl[:200]


def read_csv(name: str) -> list[dict[str, str]]:
    with (WILAYAH_DIR / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_village_lists_agree_with_each_other() -> None:
    villages, districts = read_csv("banyuwangi_villages.csv"), read_csv("banyuwangi_kecamatan.csv")
    assert len({v["kode"] for v in villages}) == len(villages) == 217  # SOURCES.md's checks
    assert len(districts) == 25
    for d in districts:
        mine = [v for v in villages if v["kecamatan_kode"] == d["kode"]]
        assert len(mine) == int(d["villages"]), d["kode"]
        assert sum(v["jenis"] == "desa" for v in mine) == int(d["desa"])
        assert sum(v["jenis"] == "kelurahan" for v in mine) == int(d["kelurahan"])
        # 1xxx is a kelurahan, 2xxx a desa (Kemendagri's code rule, SOURCES.md)
        assert all(v["jenis"] == ("kelurahan" if v["kode"][9] == "1" else "desa") for v in mine)


def test_district_boundaries_cover_the_district_list() -> None:
    geo = json.loads((WILAYAH_DIR / "banyuwangi_districts.geojson").read_text(encoding="utf-8"))
    features = geo["features"]
    codes = [f["properties"]["kode"] for f in features]
    assert sorted(codes) == sorted(d["kode"] for d in read_csv("banyuwangi_kecamatan.csv"))
    for f in features:
        assert f["geometry"]["type"] == "MultiPolygon"
        for polygon in f["geometry"]["coordinates"]:
            for ring in polygon:
                assert ring[0] == ring[-1]  # closed rings
                # [lon, lat] order, around Banyuwangi (7°43′–8°46′ S, 113°53′–114°38′ E)
                assert all(113.8 < lon < 114.7 and -8.9 < lat < -7.7 for lon, lat in ring)


def test_national_counts_agree_with_their_summary() -> None:
    rows = read_csv("national_per_province.csv")
    text = (WILAYAH_DIR / "indonesia_counts.md").read_text(encoding="utf-8")

    def stated(label: str) -> int:
        return int(
            re.search(rf"^\| {re.escape(label)} \| ([\d,]+) \|$", text, re.M)[1].replace(",", "")
        )

    assert len(rows) == stated("provinsi") == 38
    total = {
        k: sum(int(r[k]) for r in rows) for k in ("kab", "kota", "kec", "kel", "desa", "other")
    }
    assert total["kab"] == stated("kabupaten")
    assert total["kota"] == stated("kota")
    assert total["kec"] == stated("kecamatan (distrik in Papua)")
    assert total["kel"] == stated("kelurahan (1xxx)")
    assert total["desa"] == stated("desa (2xxx)")
    assert total["other"] == stated("desa adat (3xxx)")
    assert total["kel"] + total["desa"] + total["other"] == stated("all desa/kelurahan") == 83_762


def test_peer_config_is_snmp_exporters_if_mib_module() -> None:
    config = YAML(typ="safe").load((PEERS_DIR / "snmp_exporter_if_mib.yml").read_text())
    assert list(config) == ["if_mib"]
    module = config["if_mib"]
    assert module["walk"] == ["1.3.6.1.2.1.2", "1.3.6.1.2.1.31.1.1"]
    assert "ifHCInOctets" in {m["name"] for m in module["metrics"]}
