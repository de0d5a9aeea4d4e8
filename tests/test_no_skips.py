"""tests/conftest.py's rule, run on a throw-away suite: a skip fails unless explicitly allowed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.data import REPO

SUITE = """
import pytest

def test_passes():
    pass

def test_skips():
    pytest.skip("needs root")

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    raise AssertionError
"""
MODULE_SKIP = 'import pytest\npytest.skip("whole module", allow_module_level=True)\n'


def run(tmp_path: Path, suite: str = SUITE, **env: str) -> dict[str, int]:
    """Counts from pytest's closing line for a throw-away suite under env."""
    shutil.copy(REPO / "tests" / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_a.py").write_text(suite)
    base = {k: v for k, v in os.environ.items()
            if k not in ("CI", "NETWATCH_NO_SKIPS", "NETWATCH_ALLOW_SKIPS")}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         str(tmp_path)],
        cwd=tmp_path, env={**base, **env}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    last = out.stdout.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", last)}


def test_a_skip_fails_by_default(tmp_path: Path) -> None:
    assert run(tmp_path) == {"passed": 1, "failed": 1, "xfailed": 1}


def test_a_module_skip_is_an_error_by_default(tmp_path: Path) -> None:
    assert run(tmp_path, MODULE_SKIP) == {"error": 1}


def test_allow_skips_lets_them_skip(tmp_path: Path) -> None:
    assert run(tmp_path, NETWATCH_ALLOW_SKIPS="1") == {"passed": 1, "skipped": 1, "xfailed": 1}
    assert run(tmp_path, MODULE_SKIP, NETWATCH_ALLOW_SKIPS="1") == {"skipped": 1}


@pytest.mark.parametrize("env", [{"CI": "true"}, {"NETWATCH_NO_SKIPS": "1"}])
def test_ci_and_no_skips_override_the_opt_out(tmp_path: Path, env: dict[str, str]) -> None:
    counts = run(tmp_path, NETWATCH_ALLOW_SKIPS="1", **env)
    assert counts == {"passed": 1, "failed": 1, "xfailed": 1}
