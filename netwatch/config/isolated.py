"""Load the inventory in a short-lived child process.

ruamel.yaml's round-trip parser needs ~10 kB and ~1 ms per device (100 MB and 10 s at
10,000 devices, measured). Parsed in the monitoring process, that peak would stay in its
RSS and the parse would hold the GIL while the scheduler's loop waits. A child pays both and
hands back the small validated Inventory (or the ConfigError) as a pickle.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import subprocess
import sys

from netwatch.config.errors import ConfigError, Issue
from netwatch.core.model import Inventory

_CMD = [sys.executable, "-m", "netwatch.config.isolated"]


def _decode(path: str, returncode: int, out: bytes, err: bytes) -> Inventory:
    if returncode != 0 or not out:
        detail = err.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise ConfigError([Issue(path, 0, "", f"config loader failed: {detail[0]}")])
    # The pickle comes from our own child process, never from outside.
    result = pickle.loads(out)
    if isinstance(result, ConfigError):
        raise result
    return result


def load(path: str | os.PathLike) -> Inventory:
    """load_inventory(path) in a child process; raises ConfigError as it would."""
    path = os.fspath(path)
    proc = subprocess.run([*_CMD, path], capture_output=True, check=False)
    return _decode(path, proc.returncode, proc.stdout, proc.stderr)


async def load_async(path: str | os.PathLike) -> Inventory:
    """The same without blocking the event loop (for reloads)."""
    path = os.fspath(path)
    proc = await asyncio.create_subprocess_exec(
        *_CMD, path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return _decode(path, proc.returncode or 0, out, err)


def _main(path: str) -> int:
    from netwatch.config.loader import load_inventory

    try:
        result: object = load_inventory(path)
    except ConfigError as exc:
        result = exc
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
