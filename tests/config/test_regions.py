"""Above a regency: regencies, a province, provinces, included regencies; errors at file:line."""

from __future__ import annotations

import pytest

from netwatch.config import ConfigError, load_inventory
from tests.helpers.configs import line_of, write


def district(code: str, name: str, pop: str, addr: str, village: str | None = None) -> str:
    """A district with a POP and one village (router + AP), indented for `districts:` at 6."""
    v = village or f"{code}.2001"
    slug = v.replace(".", "-")
    return f"""\
      - code: "{code}"
        name: {name}
        devices:
          - {{name: {pop}, role: router, address: {addr}.0.1}}
        villages:
          - code: "{v}"
            name: Desa {v[-4:]}
            devices:
              - {{name: r-{slug}, role: router, address: {addr}.1.1, parent: {pop}}}
              - {{name: ap-{slug}, role: ap, address: {addr}.1.2, parent: r-{slug}}}
"""


def indent(text: str, by: int) -> str:
    return "".join(" " * by + line if line.strip() else line for line in text.splitlines(True))


# Two regencies of Jawa Timur: Banyuwangi (35.10) and Jember (35.09), the province form.
PROVINCE = (
    """\
province:
  code: "35"
  name: Jawa Timur
  regencies:
    - code: "35.10"
      name: Banyuwangi
      districts:
"""
    + indent(district("35.10.01", "Pesanggaran", "pop-1", "127.1"), 2)
    + """\
    - code: "35.09"
      name: Jember
      districts:
"""
    + indent(district("35.09.01", "Jombang", "pop-j1", "127.9"), 2)
)


def test_province_with_two_regencies(tmp_path):
    inv = load_inventory(write(tmp_path, PROVINCE))
    assert list(inv.regencies) == ["35.10", "35.09"]
    assert inv.regencies["35.09"].name == "Jember"
    assert inv.regencies["35.09"].districts == ("35.09.01",)
    assert inv.provinces["35"].name == "Jawa Timur"
    assert inv.provinces["35"].regencies == ("35.10", "35.09")
    assert inv.regency_of("35.09.01").name == "Jember"
    assert inv.province_name("35.09") == "Jawa Timur"
    assert (inv.regency_code, inv.regency_name) == ("", "")  # not one regency
    assert len(inv.villages) == 2 and len(inv.devices) == 6


def test_regencies_list_without_province(tmp_path):
    text = (
        "regencies:\n"
        '  - code: "35.10"\n    name: Banyuwangi\n    districts:\n'
        + district("35.10.01", "Pesanggaran", "pop-1", "127.1")
        + '  - code: "52.01"\n    name: Lombok Barat\n    districts:\n'
        + district("52.01.01", "Gerung", "pop-g", "127.52")
    )
    inv = load_inventory(write(tmp_path, text))
    assert list(inv.regencies) == ["35.10", "52.01"]
    assert inv.provinces == {}  # none declared; the code still says which
    assert inv.regency_of("52.01.01").province == "52"


def test_provinces_with_included_regencies_per_file(tmp_path):
    root = """\
include:
  - regencies/*.yaml
provinces:
  - code: "35"
    name: Jawa Timur
  - code: "52"
    name: Nusa Tenggara Barat
"""
    jember = 'regencies:\n  - code: "35.09"\n    name: Jember\n    districts:\n' + district(
        "35.09.01", "Jombang", "pop-j1", "127.9"
    )
    write(tmp_path, jember, "regencies/35.09.yaml")
    lobar = 'regencies:\n  - code: "52.01"\n    name: Lombok Barat\n    districts:\n' + district(
        "52.01.01", "Gerung", "pop-g", "127.52"
    )
    write(tmp_path, lobar, "regencies/52.01.yaml")
    inv = load_inventory(write(tmp_path, root))
    assert inv.provinces["35"].regencies == ("35.09",)
    assert inv.provinces["52"].regencies == ("52.01",)
    assert inv.devices["r-52-01-01-2001"].district == "52.01.01"
    src = inv.regencies["52.01"].source
    assert src is not None and src.file.endswith("regencies/52.01.yaml") and src.line == 2


def test_included_districts_find_their_regency_by_code(tmp_path):
    write(tmp_path, "districts:\n" + district("35.09.02", "Kencong", "pop-k", "127.19"), "d.yaml")
    inv = load_inventory(write(tmp_path, "include: [d.yaml]\n" + PROVINCE))
    assert inv.regencies["35.09"].districts == ("35.09.01", "35.09.02")


def test_district_of_no_declared_regency_is_an_error_at_its_code(tmp_path):
    extra = "districts:\n" + district("35.11.01", "Sempu", "pop-s", "127.11")
    inc = write(tmp_path, extra, "d.yaml")
    with pytest.raises(ConfigError) as info:
        load_inventory(write(tmp_path, "include: [d.yaml]\n" + PROVINCE))
    assert info.value.errors == [
        f"{inc}:{line_of(extra, '35.11.01')}: districts[0].code: district code '35.11.01' "
        "belongs to no regency of this config (35.09, 35.10)"
    ]


def test_regency_outside_its_province_is_an_error(tmp_path):
    text = PROVINCE.replace('- code: "35.09"', '- code: "36.09"')
    text = text.replace("35.09.01", "36.09.01")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    line = line_of(text, '- code: "36.09"')
    assert info.value.errors == [
        f"{path}:{line}: province.regencies[1].code: "
        "regency code '36.09' does not start with its province code '35'"
    ]


def test_included_regency_of_an_undeclared_province(tmp_path):
    root = 'include: [r.yaml]\nprovinces:\n  - code: "35"\n    name: Jawa Timur\n'
    extra = 'regencies:\n  - code: "52.01"\n    name: Lombok Barat\n'
    inc = write(tmp_path, extra, "r.yaml")
    with pytest.raises(ConfigError) as info:
        load_inventory(write(tmp_path, root))
    assert info.value.errors == [
        f"{inc}:2: regencies[0].code: regency code '52.01' belongs to no province of this "
        "config (35)"
    ]


def test_two_region_forms_and_duplicates(tmp_path):
    text = PROVINCE + 'regency:\n  code: "35.10"\n  name: Banyuwangi\n'
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    # At the later key's value (the mapping's first line).
    assert info.value.errors == [
        f"{path}:{line_of(text, 'regency:') + 1}: regency: 'regency' and 'province' cannot "
        "both be given"
    ]
    dup = PROVINCE.replace('- code: "35.09"', '- code: "35.10"').replace("35.09.01", "35.10.02")
    path = write(tmp_path, dup, "dup.yaml")
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    first, second = line_of(dup, '- code: "35.10"'), line_of(dup, '- code: "35.10"', 2)
    assert info.value.errors == [
        f"{path}:{second}: province.regencies[1].code: duplicate regency code '35.10' "
        f"(first at {path}:{first})"
    ]


def test_missing_region_names_every_form(tmp_path):
    path = write(tmp_path, "settings: {language: en}\n")
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    assert info.value.errors == [
        f"{path}:1: missing required key 'regency' (or 'regencies', 'province', 'provinces')"
    ]


def test_included_regencies_need_a_multi_regency_root(tmp_path):
    root = 'include: [r.yaml]\nregency:\n  code: "35.10"\n  name: Banyuwangi\n'
    inc = write(tmp_path, 'regencies:\n  - code: "35.09"\n    name: Jember\n', "r.yaml")
    with pytest.raises(ConfigError) as info:
        load_inventory(write(tmp_path, root))
    assert info.value.errors == [
        f"{inc}:2: regencies: the root holds one 'regency:': write 'regencies:' or "
        "'province:' there to include regencies"
    ]


def test_desa_adat_codes_are_desa(tmp_path):
    text = PROVINCE.replace("35.09.01.2001", "35.09.01.3001")
    inv = load_inventory(write(tmp_path, text))
    assert inv.villages["35.09.01.3001"].kind.value == "desa"


def test_edit_commands_find_devices_under_a_province(tmp_path):
    from netwatch.config.edit import Editor

    path = write(tmp_path, PROVINCE)
    editor = Editor(str(path))
    editor.add_device({"name": "ap2-x", "role": "ap", "address": "127.9.1.3"}, "35.09.01.2001")
    editor.save()
    inv = load_inventory(path)
    assert "ap2-x" in inv.villages["35.09.01.2001"].devices
