"""The one Prometheus rule set: promtool accepts it and its unit tests (rules/tests/*.yml) pass."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.helpers.procs import repo_root

ROOT = repo_root()
TESTS = sorted((ROOT / "rules" / "tests").glob("*.yml"))


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is not installed (Debian package prometheus)")
    return subprocess.run(
        ["promtool", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_promtool_check_rules() -> None:
    done = promtool("check", "rules", "rules/netwatch.rules.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize("path", TESTS, ids=lambda p: p.name)
def test_promtool_test_rules(path) -> None:
    done = promtool("test", "rules", str(path.relative_to(ROOT)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_unit_tests_cover_every_alert() -> None:
    # Each alerting rule of the set fires in at least one promtool test (after its `for`).
    rules = (ROOT / "rules" / "netwatch.rules.yml").read_text(encoding="utf-8")
    alerts = {line.split(":", 1)[1].strip() for line in rules.splitlines() if "- alert:" in line}
    tested = "".join(p.read_text(encoding="utf-8") for p in TESTS)
    untested = {a for a in alerts if f"alertname: {a}" not in tested}
    assert not untested, f"alerts without a promtool test: {sorted(untested)}"
