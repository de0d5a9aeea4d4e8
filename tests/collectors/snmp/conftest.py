"""Fixtures for the SNMP collector tests: the 19 shared recordings served by snmpsim."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import snmpsim
from tests.helpers.snmprec import shared_dir


@pytest.fixture(scope="session")
def recordings_dir() -> Path:
    shared = shared_dir()
    if shared is None:
        pytest.skip("../shared/snmprec is absent (set NETWATCH_SHARED): recording tests skipped")
    return shared / "snmprec"


@pytest.fixture(scope="session")
def recordings_agent(recordings_dir: Path) -> Iterator[snmpsim.SimAgent]:
    if not snmpsim.available():
        pytest.skip(f"snmpsim not installed at {snmpsim.SNMPSIM} (scripts/setup.sh installs it)")
    with snmpsim.running_snmpsim([recordings_dir], probe_community="routeros") as agent:
        yield agent
