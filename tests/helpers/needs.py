"""What a test needs from the machine. A missing tool fails the test: never a skip.

`scripts/setup.sh --test` installs every tool named here, so on a machine it set up the tool
is there, and one that is missing is a broken set-up to fix, not a reason to pass quietly.
Only root may be missing, and only where NETWATCH_ALLOW_SKIPS=1 says so (tests/conftest.py).
"""

from __future__ import annotations

import shutil

import pytest


def tool(name: str, package: str) -> str:
    """The path of a command-line tool, or fail naming the Debian package that provides it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is not installed (Debian package {package}): "
            "run `bash scripts/setup.sh --test` as root"
        )
    return path
