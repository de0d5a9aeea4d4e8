"""Load the inventory in a short-lived child process.

ruamel.yaml's round-trip parser needs ~10 kB and ~1 ms per device (100 MB and 10 s at
10,000 devices, measured). Parsed in the monitoring process, that peak would stay in its
RSS and the parse would hold the GIL while the scheduler's loop waits. A child pays both and
hands back the small validated Inventory (or the ConfigError) as a pickle. Told a shard, the
child also cuts the inventory to that shard, so a national config's pickle stays 1/N.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import subprocess
import sys

from netwatch.cluster.member import Member
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


def _args(path: str, member: Member | None) -> list[str]:
    if member is None:
        return [*_CMD, path]
    shard = "" if member.shard is None else str(member.shard)
    return [*_CMD, path, shard, member.replica or ""]


def load(path: str | os.PathLike, member: Member | None = None) -> Inventory:
    """load_inventory(path) in a child process; raises ConfigError as it would.

    member: cut to that instance's shard (and check that its shard and replica exist)."""
    path = os.fspath(path)
    proc = subprocess.run(_args(path, member), capture_output=True, check=False)
    return _decode(path, proc.returncode, proc.stdout, proc.stderr)


async def load_async(path: str | os.PathLike, member: Member | None = None) -> Inventory:
    """The same without blocking the event loop (for reloads)."""
    path = os.fspath(path)
    proc = await asyncio.create_subprocess_exec(
        *_args(path, member), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return _decode(path, proc.returncode or 0, out, err)


def load_member(path: str, member: Member | None) -> Inventory:
    """load_inventory, then cut to member's shard; a shard or replica the config lacks is a
    ConfigError naming the file."""
    from netwatch.cluster.member import MemberError, instance_state, settle, shard_view
    from netwatch.config.loader import load_inventory

    inv = load_inventory(path)
    if member is None:
        return inv
    try:
        settled = settle(member, inv.settings.cluster)
    except MemberError as exc:
        raise ConfigError([Issue(path, 0, "", str(exc))]) from None
    assert settled.shard is not None
    return instance_state(shard_view(inv, settled.shard), settled)


def _main(argv: list[str]) -> int:
    member = None
    if len(argv) == 3:
        member = Member(int(argv[1]) if argv[1] else None, argv[2] or None)
    try:
        result: object = load_member(argv[0], member)
    except ConfigError as exc:
        result = exc
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
