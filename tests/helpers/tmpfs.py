"""A small real tmpfs the test mounts, so a disk runs out of space for real (ENOSPC).

Needs root. Without it the test skips with the reason, which tests/conftest.py turns into a
failure unless NETWATCH_ALLOW_SKIPS=1 (a machine without root), as for the namespaces.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def mounted(directory: Path, size: str, name: str = "nwtest") -> Iterator[Path]:
    """A tmpfs of `size` (mount's syntax: 128k, 4m) at directory (made here); unmounted after."""
    if os.geteuid() != 0:
        pytest.skip(f"needs root: mounts a {size} tmpfs at {directory}")
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", name, str(directory)],
        check=True,
        timeout=30,
    )
    try:
        yield directory
    finally:
        done = subprocess.run(["umount", str(directory)], capture_output=True, timeout=30)
        if done.returncode:  # still busy (a file left open): detach it, and say so
            subprocess.run(["umount", "-l", str(directory)], check=False, timeout=30)
            raise RuntimeError(f"umount {directory}: {done.stderr.decode().strip()}")
