"""Small inventory configs for tests: write text, find the line a marker sits on, load errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from netwatch.cli import main
from netwatch.config import ConfigError, load_inventory

# A minimal valid config: one district with a POP, one village with a router and an AP.
BASE = """\
settings:
  language: id
  ping: {interval: 30s, count: 5}
credentials:
  snmp:
    demo-v2:
      version: 2c
      community: {env: NETWATCH_SNMP_COMMUNITY}
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.01"
      name: Pesanggaran
      devices:
        - {name: pop-1, role: router, address: 127.1.0.1, snmp: demo-v2}
      villages:
        - code: "35.10.01.2001"
          name: Sarongan
          kind: desa
          lat: -8.498369
          lon: 113.904168
          devices:
            - {name: sarongan-router, role: router, address: 127.1.1.1, parent: pop-1}
            - {name: sarongan-ap-1, role: ap, address: 127.1.1.2, parent: sarongan-router}
"""


def write(tmp_path: Path, text: str, name: str = "netwatch.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def line_of(text: str, marker: str, nth: int = 1) -> int:
    """1-based line of the nth line containing marker (the test's own count, not the code's)."""
    hits = [i for i, line in enumerate(textwrap.dedent(text).splitlines(), 1) if marker in line]
    assert len(hits) >= nth, f"marker {marker!r} not found {nth} times"
    return hits[nth - 1]


def load_errors(path: Path) -> list[str]:
    """The errors loading path reports (it must fail with ConfigError)."""
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    return info.value.errors


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`netwatch ARGV` in this process: exit code, stdout, stderr."""
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err
