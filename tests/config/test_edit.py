"""`netwatch inventory add/remove/set`: comments kept, invalid edits refused, crash-safe writes."""

from __future__ import annotations

import difflib
import json
import os

import pytest

from tests.helpers.configs import BASE, run_cli, write

COMMENTED = "# Site inventory: keep this comment\n" + BASE.replace(
    "      villages:\n", "      villages:  # one per desa\n"
).replace(
    "          kind: desa\n", "          kind: desa  # 2xxx code\n          # AP list follows\n"
)
INCLUDED = """\
# Bangorejo lives in its own file
districts:
  - code: "35.10.02"
    name: Bangorejo
    villages:
      - code: "35.10.02.2001"
        name: Kebondalem   # the only village here
        devices:
          - {name: kebondalem-router, role: router, address: 127.2.1.1}
"""


@pytest.fixture
def cfg(tmp_path):
    return write(tmp_path, COMMENTED)


def _diff(before: str, after: str) -> list[str]:
    return [
        d
        for d in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if d[:1] in "+-" and not d.startswith(("+++", "---"))
    ]


def test_add_changes_one_line_and_keeps_comments(cfg, capsys):
    before = cfg.read_text()
    code, out, err = run_cli(
        capsys,
        "inventory",
        "add",
        "--config",
        str(cfg),
        "--village",
        "35.10.01.2001",
        "--name",
        "sarongan-ap-2",
        "--role",
        "ap",
        "--address",
        "127.1.1.3",
        "--parent",
        "sarongan-router",
        "--tag",
        "outdoor",
        "--tag",
        "solar",
    )
    assert (code, err) == (0, "")
    assert "added sarongan-ap-2 (ap, 127.1.1.3) to village 35.10.01.2001" in out
    assert _diff(before, cfg.read_text()) == [
        "+            - {name: sarongan-ap-2, role: ap, address: 127.1.1.3, "
        "parent: sarongan-router, tags: [outdoor, solar]}"
    ]
    assert run_cli(capsys, "config", "check", str(cfg))[0] == 0


def test_add_lands_in_the_included_file(tmp_path, capsys):
    inc = write(tmp_path, INCLUDED, "districts/02.yaml")
    cfg = write(tmp_path, BASE.replace("regency:\n", "include: [districts/*.yaml]\nregency:\n"))
    root_before, inc_before = cfg.read_bytes(), inc.read_text()
    code, out, _ = run_cli(
        capsys,
        "inventory",
        "add",
        "--config",
        str(cfg),
        "--village",
        "35.10.02.2001",
        "--name",
        "kebondalem-ap-1",
        "--role",
        "ap",
        "--address",
        "127.2.1.2",
        "--parent",
        "kebondalem-router",
    )
    assert code == 0 and str(inc) in out
    assert cfg.read_bytes() == root_before
    assert _diff(inc_before, inc.read_text()) == [
        "+          - {name: kebondalem-ap-1, role: ap, address: 127.2.1.2, "
        "parent: kebondalem-router}"
    ]
    assert "# the only village here" in inc.read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [
                "add",
                "--village",
                "35.10.01.2001",
                "--name",
                "x",
                "--role",
                "ap",
                "--address",
                "10.0.0.300",
            ],
            "'10.0.0.300' is not an IP address or host name",
        ),
        (
            [
                "add",
                "--village",
                "35.10.01.2001",
                "--name",
                "sarongan-router",
                "--role",
                "ap",
                "--address",
                "127.1.1.9",
            ],
            "duplicate device name 'sarongan-router'",
        ),
        (
            [
                "add",
                "--village",
                "35.10.01.2001",
                "--name",
                "x",
                "--role",
                "ap",
                "--address",
                "127.1.1.9",
                "--parent",
                "ghost",
            ],
            "unknown parent device 'ghost'",
        ),
        (
            [
                "add",
                "--village",
                "35.10.09.2001",
                "--name",
                "x",
                "--role",
                "ap",
                "--address",
                "127.1.1.9",
            ],
            "no village 35.10.09.2001",
        ),
        (["remove", "sarongan-router"], "unknown parent device 'sarongan-router'"),
        (["remove", "ghost"], "no device named 'ghost'"),
        (["set", "sarongan-ap-1", "role=acces-point"], "'acces-point' is not one of"),
        (["set", "sarongan-ap-1", "parent=sarongan-ap-1"], "parent cycle"),
        (["set", "sarongan-ap-1", "colour=red"], "unknown device key 'colour'"),
        (["set", "sarongan-ap-1", "address="], "'address' is required"),
    ],
)
def test_invalid_edit_leaves_file_byte_identical(cfg, capsys, argv, message):
    before = cfg.read_bytes()
    code, out, err = run_cli(capsys, "inventory", argv[0], "--config", str(cfg), *argv[1:])
    assert code == 1
    assert message in err
    assert out == ""
    assert cfg.read_bytes() == before
    assert sorted(os.listdir(cfg.parent)) == [cfg.name]  # no temp file left


def test_set_and_remove(cfg, capsys):
    before = cfg.read_text()
    code, out, _ = run_cli(
        capsys,
        "inventory",
        "set",
        "--config",
        str(cfg),
        "sarongan-ap-1",
        "address=127.1.1.20",
        "ping=false",
        "ping_interval=10s",
        "parent=",
    )
    assert code == 0
    assert out.splitlines() == [
        f"sarongan-ap-1.address: 127.1.1.2 -> 127.1.1.20 in {cfg}",
        f"sarongan-ap-1.ping: (unset) -> False in {cfg}",
        f"sarongan-ap-1.ping_interval: (unset) -> 10s in {cfg}",
        f"sarongan-ap-1.parent: sarongan-router -> (unset) in {cfg}",
    ]
    assert _diff(before, cfg.read_text()) == [
        "-            - {name: sarongan-ap-1, role: ap, address: 127.1.1.2, "
        "parent: sarongan-router}",
        "+            - {name: sarongan-ap-1, role: ap, address: 127.1.1.20, ping: false, "
        "ping_interval: 10s}",
    ]
    code, out, _ = run_cli(capsys, "inventory", "remove", "--config", str(cfg), "sarongan-ap-1")
    assert (code, out) == (0, f"removed sarongan-ap-1 from {cfg}\n")
    after = cfg.read_text()
    assert "sarongan-ap-1" not in after
    assert "# AP list follows" in after and "# Site inventory: keep this comment" in after


def test_crash_mid_write_leaves_original(cfg, capsys, monkeypatch):
    before = cfg.read_bytes()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    argv = (
        "inventory add --village 35.10.01.2001 --name sarongan-ap-2 --role ap --address 127.1.1.3"
    )
    code, out, err = run_cli(capsys, *argv.split(), "--config", str(cfg))
    assert code == 1 and out == ""
    assert "No space left on device" in err and "nothing written" in err
    assert cfg.read_bytes() == before
    assert sorted(os.listdir(cfg.parent)) == [cfg.name]


def test_list_filters_and_json(cfg, capsys):
    code, out, _ = run_cli(
        capsys, "inventory", "list", "--config", str(cfg), "--json", "--village", "35.10.01.2001"
    )
    assert code == 0
    rows = json.loads(out)
    assert [(r["name"], r["role"], r["address"], r["parent"]) for r in rows] == [
        ("sarongan-router", "router", "127.1.1.1", "pop-1"),
        ("sarongan-ap-1", "ap", "127.1.1.2", "sarongan-router"),
    ]
    assert {r["village_name"] for r in rows} == {"Sarongan"}
    code, out, _ = run_cli(
        capsys, "inventory", "list", "--config", str(cfg), "--district", "35.10.01"
    )
    lines = out.splitlines()
    assert lines[0].split() == [
        "name",
        "role",
        "address",
        "parent",
        "village",
        "village_name",
        "district_name",
    ]
    assert lines[1].split() == ["pop-1", "router", "127.1.0.1", "-", "-", "-", "Pesanggaran"]
    assert lines[-1] == "3 devices"


BLOCK = """\
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.01"
      name: Pesanggaran
      villages:
        - code: "35.10.01.2001"
          name: Sarongan   # no devices yet
        - code: "35.10.01.2002"
          name: Pesanggaran
          devices:
            - name: pes-router
              role: router
              address: 127.1.2.1
"""


def test_new_lists_and_block_style_neighbours(tmp_path, capsys):
    cfg = write(tmp_path, BLOCK)
    base = ["inventory", "add", "--config", str(cfg)]
    assert (
        run_cli(
            capsys,
            *base,
            "--district",
            "35.10.01",
            "--name",
            "pop",
            "--role",
            "router",
            "--address",
            "127.1.0.1",
        )[0]
        == 0
    )
    assert (
        run_cli(
            capsys,
            *base,
            "--village",
            "35.10.01.2001",
            "--name",
            "sar-router",
            "--role",
            "router",
            "--address",
            "127.1.1.1",
            "--parent",
            "pop",
        )[0]
        == 0
    )
    assert (
        run_cli(
            capsys,
            *base,
            "--village",
            "35.10.01.2002",
            "--name",
            "pes-ap",
            "--role",
            "ap",
            "--address",
            "127.1.2.2",
            "--parent",
            "pes-router",
        )[0]
        == 0
    )
    assert (
        cfg.read_text()
        == """\
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.01"
      name: Pesanggaran
      devices:
        - {name: pop, role: router, address: 127.1.0.1}
      villages:
        - code: "35.10.01.2001"
          name: Sarongan   # no devices yet
          devices:
            - {name: sar-router, role: router, address: 127.1.1.1, parent: pop}
        - code: "35.10.01.2002"
          name: Pesanggaran
          devices:
            - name: pes-router
              role: router
              address: 127.1.2.1
            - name: pes-ap
              role: ap
              address: 127.1.2.2
              parent: pes-router
"""
    )
