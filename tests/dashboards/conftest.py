"""Fixtures for the dashboard tests: one live stack shared by every live query test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.dashboard_stack import Stack
from tests.helpers.snmpsim import available


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    if os.geteuid() != 0:
        pytest.skip("needs root: a network namespace, raw ICMP and nftables")
    if not available():
        pytest.fail("snmpsim is not installed in /opt/netwatch-snmpsim (scripts/setup.sh)")
    with tempfile.TemporaryDirectory(prefix="nw-dash-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # snmpsim reads its data as nobody
        s = Stack(work)
        try:
            s.start()
            yield s
        finally:
            s.close()
