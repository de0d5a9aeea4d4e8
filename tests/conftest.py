"""Suite-wide rule: a skipped test is a failure, unless a machine without root says otherwise.

Everything a test needs is in the repository or installed by `scripts/setup.sh --test`, so on
a machine it set up (as root) no test has a reason to skip: a skip can only be a broken
install or a dead condition, and it fails instead of passing quietly. The one exception is a
machine without root (no network namespaces, no raw ICMP): there NETWATCH_ALLOW_SKIPS=1 lets
the root-only tests skip, each with its reason. CI (CI=true) never allows a skip.

Second rule: a test leaves no file in the repository (a relative state path such as the alert
store's default lands in the working directory or beside the packaged config); it writes under
tmp_path.

Shared fixture: `running(outbox)` runs an alert outbox's delivery loop for the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from netwatch.alerting.outbox import Outbox

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


REPO = Path(__file__).resolve().parent.parent
# Tool caches pytest, its plugins and the linters keep in the checkout (all in .gitignore).
CACHES = {".pytest_cache", ".hypothesis", "__pycache__", ".mypy_cache", ".ruff_cache"}


def _listing(folders: tuple[Path, ...]) -> set[Path]:
    return {f / name for f in folders if f.is_dir() for name in os.listdir(f) if name not in CACHES}


@pytest.fixture(autouse=True)
def no_stray_files() -> Iterator[None]:
    """Fail the test that leaves a file where relative runtime paths land: the working
    directory, the repository root, the packaged config's folder (configs/)."""
    folders = tuple(dict.fromkeys((Path.cwd(), REPO, REPO / "configs")))
    before = _listing(folders)
    yield
    new = sorted(str(p) for p in _listing(folders) - before)
    assert not new, f"the test left files in the repository (write under tmp_path): {new}"


@pytest.fixture
async def running() -> AsyncIterator[Callable[[Outbox], asyncio.Task[None]]]:
    """running(outbox) starts its delivery loop; every loop is cancelled at teardown."""
    tasks: list[tuple[Outbox, asyncio.Task[None]]] = []

    def start(outbox: Outbox) -> asyncio.Task[None]:
        task = asyncio.create_task(outbox.run())
        tasks.append((outbox, task))
        return task

    yield start
    for outbox, task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await outbox.close()
