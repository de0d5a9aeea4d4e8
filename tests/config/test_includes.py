"""Included files: districts appended, errors located in the included file, missing and cycles."""

from __future__ import annotations

import pytest

from netwatch.config import ConfigError, load_inventory
from tests.helpers.configs import BASE, line_of, write

EXTRA = """\
# district files hold districts only
districts:
  - code: "35.10.02"
    name: Bangorejo
    devices:
      - {name: bangorejo-pop, role: router, address: 127.2.0.1, snmp: demo-v2}
    villages:
      - code: "35.10.02.2001"
        name: Kebondalem
        devices:
          - {name: kebondalem-router, role: router, address: 127.2.1.1, parent: bangorejo-pop}
"""


def with_include(patterns: str) -> str:
    return BASE.replace("regency:\n", f"include:\n{patterns}regency:\n", 1)


def test_glob_include_appends_districts(tmp_path):
    write(tmp_path, EXTRA, "districts/02-bangorejo.yaml")
    cfg = write(tmp_path, with_include("  - districts/*.yaml\n"))
    inv = load_inventory(cfg)
    assert list(inv.districts) == ["35.10.01", "35.10.02"]
    assert inv.devices["kebondalem-router"].district == "35.10.02"
    assert inv.devices["kebondalem-router"].parent == "bangorejo-pop"
    src = inv.villages["35.10.02.2001"].source
    assert (src.file, src.line) == (
        str(tmp_path / "districts/02-bangorejo.yaml"),
        line_of(EXTRA, "35.10.02.2001"),
    )


def test_error_in_included_file_names_that_file(tmp_path):
    bad = EXTRA.replace("address: 127.2.1.1", "address: 127.2.1.999")
    inc = write(tmp_path, bad, "districts/02.yaml")
    cfg = write(tmp_path, with_include("  - districts/02.yaml\n"))
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    assert info.value.errors == [
        f"{inc}:{line_of(bad, '127.2.1.999')}: districts[0].villages[0].devices[0].address: "
        "'127.2.1.999' is not an IP address or host name"
    ]


def test_cross_file_duplicate_points_at_both(tmp_path):
    bad = EXTRA.replace("name: kebondalem-router", "name: sarongan-router")
    inc = write(tmp_path, bad, "d/02.yaml")
    text = with_include("  - d/02.yaml\n")
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    first = line_of(text, "name: sarongan-router")
    assert info.value.errors == [
        f"{inc}:{line_of(bad, 'sarongan-router')}: districts[0].villages[0].devices[0].name: "
        f"duplicate device name 'sarongan-router' (first at {cfg}:{first})"
    ]


def test_missing_include(tmp_path):
    text = with_include("  - districts/none.yaml\n")
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    assert info.value.errors == [
        f"{cfg}:{line_of(text, 'none.yaml')}: include[0]: include file "
        f"{tmp_path / 'districts/none.yaml'} not found"
    ]


def test_glob_matching_nothing(tmp_path):
    text = with_include("  - nothing/*.yaml\n")
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    assert info.value.errors == [
        f"{cfg}:{line_of(text, 'nothing/')}: include[0]: 'nothing/*.yaml' matches no file"
    ]


def test_include_cycle(tmp_path):
    a = "include:\n  - b.yaml\ndistricts: []\n"
    b = "include:\n  - a.yaml\ndistricts: []\n"
    write(tmp_path, a, "sub/a.yaml")
    inc_b = write(tmp_path, b, "sub/b.yaml")
    cfg = write(tmp_path, with_include("  - sub/a.yaml\n"))
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    sub = tmp_path / "sub"
    assert info.value.errors == [
        f"{inc_b}:2: include[0]: include cycle: {sub / 'a.yaml'} -> {sub / 'b.yaml'} -> "
        f"{sub / 'a.yaml'}"
    ]


def test_included_file_only_holds_districts(tmp_path):
    # An included file holds districts (or regencies, under a multi-regency root), never a
    # root's `regency:`.
    bad = "regency: {code: '35.10'}\n" + EXTRA
    inc = write(tmp_path, bad, "d.yaml")
    cfg = write(tmp_path, with_include("  - d.yaml\n"))
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    assert info.value.errors == [
        f"{inc}:1: (top level): unknown key 'regency' (did you mean 'regencies'?)"
    ]


def test_syntax_error_in_include_and_root_error_both_reported(tmp_path):
    inc = write(tmp_path, "districts:\n  - code: [unclosed\n", "d.yaml")
    text = with_include("  - d.yaml\n").replace("kind: desa", "kind: dessa")
    cfg = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(cfg)
    errors = info.value.errors
    assert len(errors) == 2, errors
    assert errors[0].startswith(f"{inc}:3: YAML syntax error")  # the parser hits the end
    assert errors[1].startswith(f"{cfg}:{line_of(text, 'kind: dessa')}: ")
