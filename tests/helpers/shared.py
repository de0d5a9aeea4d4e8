"""Locate ../shared (read-only reference data); tests that need it skip when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent


def shared_dir() -> Path:
    """NETWATCH_SHARED, else <repo root>/../shared."""
    return Path(os.environ.get("NETWATCH_SHARED") or REPO.parent / "shared")


def require_shared(*parts: str) -> Path:
    """The path under shared, or skip the test saying what is missing."""
    path = shared_dir().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (set NETWATCH_SHARED to the shared data directory)")
    return path
