"""Defect 17: the README's unit could not bind the trap port 162 (no CAP_NET_BIND_SERVICE)
and `systemd-analyze security` rated it 6.5 (no UMask). The unit now lives in
deploy/netwatch.service, the README shows it verbatim, and systemd itself rates it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "netwatch.service"


def test_readme_shows_the_shipped_unit_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```ini\n(.*?)```", readme, re.S)
    assert block is not None
    assert block.group(1) == UNIT.read_text()


def test_unit_grants_what_traps_on_162_and_ping_need_and_nothing_else() -> None:
    lines = dict(
        line.split("=", 1)
        for line in UNIT.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert set(lines["AmbientCapabilities"].split()) == {"CAP_NET_RAW", "CAP_NET_BIND_SERVICE"}
    assert lines["CapabilityBoundingSet"] == lines["AmbientCapabilities"]
    assert lines["UMask"] == "0077"
    assert lines["NoNewPrivileges"] == "yes"
    assert lines["StateDirectory"] == "netwatch"


def test_systemd_analyze_security_rates_the_unit_at_most_3() -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing (Debian package systemd)")
    r = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", str(UNIT)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=UNIT.parent,
    )
    m = re.search(r"Overall exposure level for netwatch\.service: ([0-9.]+)", r.stdout)
    assert m is not None, r.stdout + r.stderr
    assert float(m.group(1)) <= 3.0, r.stdout
