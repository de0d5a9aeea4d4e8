"""The repo's Prometheus rules, checked and unit-tested by promtool (the peer tool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.helpers import needs

RULES = Path(__file__).resolve().parents[2] / "rules"


@pytest.fixture(autouse=True)
def promtool() -> str:
    return needs.tool("promtool", "prometheus")


def test_rules_file_is_valid():
    out = subprocess.run(
        ["promtool", "check", "rules", str(RULES / "netwatch.rules.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS" in out.stdout


def test_rule_unit_tests_pass():
    tests = sorted((RULES / "tests").glob("*.yml"))
    assert tests
    out = subprocess.run(
        ["promtool", "test", "rules", *map(str, tests)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=RULES / "tests",
    )
    assert out.returncode == 0, out.stdout + out.stderr
