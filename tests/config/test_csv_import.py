"""`netwatch inventory import`: spreadsheet rows → inventory YAML, errors by CSV line."""

from __future__ import annotations

import pytest

from netwatch.config import load_inventory
from tests.helpers.configs import run_cli

HEADER = (
    "village_code,village_name,district_code,district_name,kind,lat,lon,device,role,address,"
    "parent,snmp,profile,tags\n"
)
GOOD = HEADER + (
    ",,35.10.01,Pesanggaran,,,,pesanggaran-pop,router,127.1.0.1,,demo-v2,,\n"
    "35.10.01.2001,Sarongan,35.10.01,Pesanggaran,desa,-8.498369,113.904168,sarongan-router,"
    "router,127.1.1.1,pesanggaran-pop,demo-v2,mikrotik-routeros,fibre\n"
    "35.10.01.2001,Sarongan,35.10.01,Pesanggaran,desa,-8.498369,113.904168,sarongan-ap-1,"
    "ap,127.1.1.2,sarongan-router,demo-v2,,outdoor;solar\n"
    '35.10.16.1001,Pakis,35.10.16,Banyuwangi,kelurahan,-8.2,114.35,"pakis-router",router,'
    "127.16.1.1,,,,\n"
)


def test_import_to_file_loads(tmp_path, capsys):
    src = tmp_path / "export.csv"
    src.write_text(GOOD, encoding="utf-8")
    dst = tmp_path / "netwatch.yaml"
    code, _, err = run_cli(capsys, "inventory", "import", str(src), "--output", str(dst))
    assert code == 0, err
    inv = load_inventory(dst)
    assert list(inv.districts) == ["35.10.01", "35.10.16"]
    assert inv.districts["35.10.01"].devices == ("pesanggaran-pop",)
    r = inv.devices["sarongan-router"]
    assert (r.village, r.parent, r.profile, r.tags) == (
        "35.10.01.2001",
        "pesanggaran-pop",
        "mikrotik-routeros",
        ("fibre",),
    )
    assert inv.devices["sarongan-ap-1"].tags == ("outdoor", "solar")
    v = inv.villages["35.10.01.2001"]
    assert (v.name, v.kind.value, v.lat, v.lon) == ("Sarongan", "desa", -8.498369, 113.904168)
    assert inv.villages["35.10.16.1001"].kind.value == "kelurahan"
    assert inv.credentials["demo-v2"].community.env == "NETWATCH_SNMP_COMMUNITY"
    assert (inv.regency_code, inv.regency_name) == ("35.10", "Banyuwangi")


def test_import_to_stdout(tmp_path, capsys):
    src = tmp_path / "export.csv"
    src.write_text(GOOD, encoding="utf-8")
    code, out, _ = run_cli(capsys, "inventory", "import", str(src))
    assert code == 0
    assert '    - code: "35.10.16"' in out and "name: sarongan-ap-1" in out


@pytest.mark.parametrize(
    ("old", "new", "line", "expected"),
    [
        ("127.1.1.2,", "10.0.0.300,", 4, "address: '10.0.0.300' is not an IP address or host name"),
        (",ap,", ",acces-point,", 4, "role: 'acces-point' is not one of"),
        (
            "sarongan-router,demo-v2,,",
            "nobody,demo-v2,,",
            4,
            "parent: unknown parent device 'nobody'",
        ),
        ("kelurahan,-8.2", "desa,-8.2", 5, "kind: kind 'desa' does not match code"),
        ("-8.2,114.35", "-98.2,114.35", 5, "lat: -98.2 is out of range"),
        ("-8.2,114.35", "south,114.35", 5, "lat: 'south' is not a number"),
        (
            '"pakis-router"',
            "sarongan-ap-1",
            5,
            "device: duplicate device name 'sarongan-ap-1' (first at {src}:4)",
        ),
        (
            "35.10.16.1001,Pakis,35.10.16",
            "35.10.17.1001,Pakis,35.10.16",
            5,
            "village_code: village code '35.10.17.1001' does not start with its district code",
        ),
    ],
)
def test_import_errors_name_the_csv_line(tmp_path, capsys, old, new, line, expected):
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    src = tmp_path / "export.csv"
    src.write_text(text, encoding="utf-8")
    dst = tmp_path / "out.yaml"
    code, out, err = run_cli(capsys, "inventory", "import", str(src), "--output", str(dst))
    assert code == 1
    want = f"{src}:{line}: {expected.format(src=src)}"
    assert any(x.startswith(want) for x in err.splitlines()), err
    assert not dst.exists()
    assert out == ""


def test_import_reports_every_bad_row(tmp_path, capsys):
    text = GOOD.replace("127.1.1.2,", "10.0.0.300,").replace("-8.2,114.35", "-98.2,114.35")
    src = tmp_path / "export.csv"
    src.write_text(text, encoding="utf-8")
    code, _, err = run_cli(capsys, "inventory", "import", str(src))
    errors = [x for x in err.splitlines() if x.startswith(str(src))]
    assert code == 1
    assert sorted(errors) == [
        f"{src}:4: address: '10.0.0.300' is not an IP address or host name",
        f"{src}:5: lat: -98.2 is out of range (-90..90)",
    ]


def test_inconsistent_village_rows_and_bad_header(tmp_path, capsys):
    text = GOOD.replace(
        "35.10.01.2001,Sarongan,35.10.01,Pesanggaran,desa,-8.498369,113.904168,sarongan-ap-1",
        "35.10.01.2001,Sarongan,35.10.01,Pesanggaran,desa,-8.5,113.904168,sarongan-ap-1",
    )
    src = tmp_path / "export.csv"
    src.write_text(text, encoding="utf-8")
    code, _, err = run_cli(capsys, "inventory", "import", str(src))
    assert code == 1
    assert (
        f"{src}:4: lat: '-8.5' differs from '-8.498369' for village 35.10.01.2001 on line 3" in err
    )
    src.write_text(GOOD.replace("address,", "adress,", 1), encoding="utf-8")
    code, _, err = run_cli(capsys, "inventory", "import", str(src))
    assert code == 1
    assert f"{src}:1: adress: unknown column (did you mean 'address'?)" in err
    assert f"{src}:1: address: missing column" in err


def test_bad_district_code_is_reported_on_its_row(tmp_path, capsys):
    src = tmp_path / "export.csv"
    src.write_text(GOOD.replace(",,35.10.01,Pesanggaran", ",,35.1.01,Pesanggaran", 1))
    code, _, err = run_cli(capsys, "inventory", "import", str(src))
    assert code == 1
    assert f"{src}:2: district_code: '35.1.01' is not a district code NN.NN.NN" in err
