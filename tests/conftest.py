"""Suite-wide rule: a skipped test is a failure, unless a machine without root says otherwise.

Everything a test needs is in the repository or installed by `scripts/setup.sh --test`, so on
a machine it set up (as root) no test has a reason to skip: a skip can only be a broken
install or a dead condition, and it fails instead of passing quietly. The one exception is a
machine without root (no network namespaces, no raw ICMP): there NETWATCH_ALLOW_SKIPS=1 lets
the root-only tests skip, each with its reason. CI (CI=true) never allows a skip.
"""

from __future__ import annotations

import os

import pytest

ALLOW_SKIPS = os.environ.get("NETWATCH_ALLOW_SKIPS") == "1"
NO_SKIPS = (
    os.environ.get("CI") == "true" or os.environ.get("NETWATCH_NO_SKIPS") == "1" or not ALLOW_SKIPS
)


def _reason(longrepr: object) -> object:
    return longrepr[2] if isinstance(longrepr, tuple) else longrepr


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if NO_SKIPS and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = (
            f"skipped, and no test may skip here: {_reason(report.longrepr)} "
            "(NETWATCH_ALLOW_SKIPS=1 lets root-only tests skip on a machine without root)"
        )


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    outcome = yield
    report = outcome.get_result()
    if NO_SKIPS and report.skipped:  # a whole module skipped at import (allow_module_level)
        report.outcome = "failed"
        report.longrepr = f"module skipped, and no test may skip here: {_reason(report.longrepr)}"
