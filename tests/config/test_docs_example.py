"""The example in docs/configuration.md is a valid config."""

from __future__ import annotations

import re

from netwatch.config import load_inventory
from tests.helpers.shared import REPO


def test_documented_example_loads(tmp_path):
    doc = (REPO / "docs/configuration.md").read_text(encoding="utf-8")
    example = re.search(r"## Example\n\n```yaml\n(.*?)```", doc, re.S).group(1)
    (tmp_path / "districts").mkdir()
    (tmp_path / "districts/07.yaml").write_text("districts: []\n")
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text(example)
    inv = load_inventory(cfg)
    assert inv.devices["sarongan-router"].profile == "mikrotik-routeros"
    assert inv.credentials["core-v3"].priv_protocol == "aes128"
    assert inv.villages["35.10.01.2001"].contacts[0].name == "Operator Desa"


def test_documented_province_example_loads(tmp_path):
    doc = (REPO / "docs/configuration.md").read_text(encoding="utf-8")
    example = re.search(r"### Above a regency\n\n```yaml\n(.*?)```", doc, re.S).group(1)
    (tmp_path / "regencies").mkdir()
    (tmp_path / "regencies/35.09.yaml").write_text(
        'districts:\n  - {code: "35.09.01", name: Jombang}\n'
    )
    cfg = tmp_path / "netwatch.yaml"
    cfg.write_text(example)
    inv = load_inventory(cfg)
    assert inv.provinces["35"].regencies == ("35.10", "35.09")
    assert inv.regencies["35.09"].districts == ("35.09.01",)
    assert {a.district: a.shard for a in inv.assignment}["35.10.01"] == 2
