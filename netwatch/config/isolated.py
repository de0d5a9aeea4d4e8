"""Load the inventory in a short-lived child process, bounded in time and memory.

Reading and checking costs ~80 µs per device and a peak of several times the inventory's
size (4 s at 50,000 devices with libyaml, docs/performance.md). Done in the monitoring process,
that peak would stay in its RSS and the work would hold the GIL while the scheduler's loop
waits. A child pays both and hands back the small validated Inventory (or the ConfigError) as
pickles (the inventory without villages and devices, then both in batches), unpickled on the
event loop a batch at a time at a reload (its other work runs between batches), where a device
or village that did not change stays the running inventory's object (one copy; parts that
compare them by identity see no change). The child also sends a digest of
its answer; given the running inventory's digest (`unless`) and finding the same, it answers
"unchanged" in a few bytes, so a reload of an unchanged file builds no second copy at all
(the soak's RSS: pymalloc kept the arenas of that copy). It also tells which files (by the
digest of their text) and include globs it read: while they read the same, a reload needs
no child at all (issue 10: at 50,000 devices the child's 4 s of parsing on the shared cores
was the whole cost of reloading an unchanged file). Told a shard, the
child also cuts the inventory to that shard, so a national config's pickle stays 1/N. The
child runs under resource limits (address space, CPU seconds) and a wall-clock deadline, so
no file, however hostile, can take the monitoring process's memory or time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import os
import pickle
import resource
import signal
import subprocess
import sys
from collections.abc import Generator, Mapping

from netwatch.cluster.member import Member
from netwatch.config.errors import ConfigError, Issue
from netwatch.config.inputs import Inputs, Read, child_args
from netwatch.core.model import Device, Inventory, Village
from netwatch.core.turns import in_turns

_CMD = [sys.executable, "-m", "netwatch.config.isolated"]


def _limit(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else default


# Ten times what the 10,000-device benchmark inventory needs; the environment can raise them.
MAX_MEMORY = _limit("NETWATCH_CONFIG_LOADER_MAX_MEMORY", 1 << 30)  # bytes of address space
MAX_CPU = _limit("NETWATCH_CONFIG_LOADER_MAX_CPU_SECONDS", 120)
MAX_WALL = _limit("NETWATCH_CONFIG_LOADER_TIMEOUT_SECONDS", 300)
MAX_OUTPUT = 256 << 20  # a pickled inventory of 50,000 devices is ~7 MB
BATCH = 1000  # devices per pickle of the child's answer
UNLESS = "--unless"  # the child's option: the digest of the running inventory's answer


@dataclasses.dataclass(frozen=True)
class Loaded:
    """The child's answer: the inventory and the digest of its pickles; inventory None when
    that digest is the one passed as `unless` (the same answer as the running inventory's)."""

    inventory: Inventory | None
    digest: str


# The inputs behind recent answers, by the answer's digest (the runtime passes its running
# inventory's as `unless`). A few: a reload storm alternates between at most two files.
_READ: dict[str, Read] = {}
_READ_KEEP = 4


def _remember(answer: str, read: Read) -> None:
    _READ.pop(answer, None)
    _READ[answer] = read
    while len(_READ) > _READ_KEEP:
        del _READ[next(iter(_READ))]


async def _still(path: str, member: Member | None, unless: str | None) -> bool:
    """Whether the answer with digest unless would come again: the same arguments and every
    file and glob reads as it did (checked in a thread: a 50,000-device file is ~5 MB)."""
    read = _READ.get(unless) if unless is not None else None
    if read is None or not read.answers(path, member):
        return False
    return await asyncio.to_thread(read.inputs.unchanged)


def digest(answer: bytes | memoryview) -> str:
    """The digest of the child's pickled answer: equal digests, equal bytes, equal inventories.
    (Pickling is deterministic here: the same files give the same bytes in every child,
    whatever PYTHONHASHSEED; tests/config/test_reload_digest.py checks it.)"""
    return hashlib.blake2b(answer, digest_size=16).hexdigest()


def _limits() -> None:
    # Set by the child itself before it reads the file: preexec_fn is unsafe in a process
    # with threads (the monitoring process renders /metrics in worker threads).
    resource.setrlimit(resource.RLIMIT_AS, (MAX_MEMORY, MAX_MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (MAX_CPU, MAX_CPU + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _decode(
    path: str, returncode: int, out: bytes, err: bytes, share: Mapping[str, Device] | None = None
) -> Loaded:
    steps = _decode_steps(path, returncode, out, err, share)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def _decode_steps(
    path: str,
    returncode: int,
    out: bytes,
    err: bytes,
    share: Mapping[str, Device] | None = None,
    villages: Mapping[str, Village] | None = None,
) -> Generator[None, None, Loaded]:
    """_decode() with a pause (a yield) after each batch of the answer."""
    if returncode < 0 or returncode == 128 + signal.SIGXCPU:
        sig = -returncode if returncode < 0 else signal.SIGXCPU
        why = {
            signal.SIGXCPU: f"used more than its CPU limit ({MAX_CPU} s)",
            signal.SIGKILL: f"was killed (more than {MAX_WALL} s, or out of memory)",
        }.get(signal.Signals(sig), f"died of signal {sig}")
        raise ConfigError([Issue(path, 0, "", f"config loader {why}")])
    if returncode != 0 or not out:
        lines = err.decode(errors="replace").strip().splitlines()
        detail = lines[-1:] or ["no output"]
        if detail[0].startswith("MemoryError"):
            detail = [f"needed more than its memory limit ({MAX_MEMORY >> 20} MiB)"]
        raise ConfigError([Issue(path, 0, "", f"config loader failed: {detail[0][:500]}")])
    # The pickles come from our own child process, never from outside.
    result = yield from _receive(io.BytesIO(out), share, villages)
    if isinstance(result, ConfigError):
        raise result
    return result


def _receive(
    stream: io.BytesIO,
    share: Mapping[str, Device] | None,
    villages: Mapping[str, Village] | None = None,
) -> Generator[None, None, Loaded | ConfigError]:
    """Unpickle the child's answer: its digest, then None ("unchanged") or the inventory
    without its villages and devices, the villages and the devices in batches (a yield after
    each). A device equal to one of share (the running inventory's) is that object, and so is
    a village equal to one of villages: a reload holds one copy of what did not change and at
    most a batch of the rest twice (issue 10: a 50,000-device reload built a second
    inventory, ~45 MiB, beside the first)."""
    first = pickle.load(stream)
    if isinstance(first, ConfigError):
        return first
    if not isinstance(first, str):
        raise TypeError(f"config loader answered a {type(first).__name__}")
    read = pickle.load(stream)
    if not isinstance(read, Read):
        raise TypeError(f"config loader answered a {type(read).__name__}")
    _remember(first, read)
    head = pickle.load(stream)
    if head is None:
        return Loaded(None, first)
    if not isinstance(head, Inventory):
        raise TypeError(f"config loader answered a {type(head).__name__}")
    yield
    places = head.villages  # empty: filled in place, in the child's order
    while (batch := pickle.load(stream)) is not None:
        for place in batch:
            same = villages.get(place.code) if villages is not None else None
            places[place.code] = same if same is not None and same == place else place
        yield
    devices = head.devices  # empty: filled in place, in the child's order
    strings = _codes(head)
    fresh: list[Device] = []
    while (batch := pickle.load(stream)) is not None:
        for device in batch:
            kept = share.get(device.name) if share is not None else None
            if kept is not None and kept == device:
                device = devices[device.name] = kept
            else:
                devices[device.name] = device
                fresh.append(device)
            strings.setdefault(device.name, device.name)  # a parent's name: the key's object
        yield
    for device in fresh:
        _share_strings(device, strings)
    return Loaded(head, first)


def _codes(inventory: Inventory) -> dict[str, str]:
    """The village and district codes of the inventory, each as its one string object."""
    strings = {}
    for village in inventory.villages.values():
        strings[village.code] = village.code
    for district in inventory.districts.values():
        strings[district.code] = district.code
    return strings


_SHARED = ("district", "village", "parent", "snmp", "profile")


def _share_strings(device: Device, strings: dict[str, str]) -> None:
    """Point the device's codes and names at one string object each (its village's code, its
    parent's name): pickled in batches, every batch carried its own copies (~2 MiB at 50,000
    devices). Done while the device is still only ours, as its __setstate__ would."""
    for name in _SHARED:
        value = getattr(device, name)
        if value is not None:
            one = strings.setdefault(value, value)
            if one is not value:
                object.__setattr__(device, name, one)


def _args(path: str, member: Member | None, unless: str | None = None) -> list[str]:
    cmd = _CMD if unless is None else [*_CMD, UNLESS, unless]
    return [*cmd, *child_args(path, member)]


def load(path: str | os.PathLike, member: Member | None = None) -> Inventory:
    """load_inventory(path) in a child process; raises ConfigError as it would.

    member: cut to that instance's shard (and check that its shard and replica exist)."""
    inventory = load_digested(path, member).inventory
    assert inventory is not None  # no `unless` given: always the inventory
    return inventory


def load_digested(path: str | os.PathLike, member: Member | None = None) -> Loaded:
    """load() with the digest of the child's answer (the runtime's `unless` at its reloads)."""
    path = os.fspath(path)
    proc = subprocess.Popen(_args(path, member), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = proc.communicate(timeout=MAX_WALL)
    except subprocess.TimeoutExpired:
        proc.kill()  # our own child, by its PID
        out, err = proc.communicate()
    return _decode(path, proc.returncode, out, err)


async def load_async(
    path: str | os.PathLike,
    member: Member | None = None,
    share: Mapping[str, Device] | None = None,
    villages: Mapping[str, Village] | None = None,
) -> Inventory:
    """load() without blocking the event loop; devices equal to share's are share's own,
    villages equal to villages' those."""
    inventory = (await load_changed(path, member, share, villages=villages)).inventory
    assert inventory is not None  # no `unless` given: always the inventory
    return inventory


async def load_changed(
    path: str | os.PathLike,
    member: Member | None = None,
    share: Mapping[str, Device] | None = None,
    unless: str | None = None,
    villages: Mapping[str, Village] | None = None,
) -> Loaded:
    """The reload's load, the event loop free meanwhile: inventory None when the child's
    answer has the digest unless (the running inventory's: nothing changed, nothing
    decoded); otherwise devices equal to share's are share's own objects, and villages equal
    to villages' are those."""
    path = os.fspath(path)
    if await _still(path, member, unless):
        assert unless is not None
        return Loaded(None, unless)
    proc = await asyncio.create_subprocess_exec(
        *_args(path, member, unless),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=MAX_OUTPUT,
    )
    try:
        async with asyncio.timeout(MAX_WALL):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        out, err = await proc.communicate()
    code = proc.returncode if proc.returncode is not None else -9
    # Unpickled on the loop a batch at a time (~2-5 ms each at 50,000 devices), the loop's
    # other work let through between batches (core/turns.py). In a thread (until issue 10's
    # reloadstall) every wake-up of the loop meanwhile waited for the GIL, up to the switch
    # interval (5 ms) each time.
    return await in_turns(_decode_steps(path, code, out, err, share, villages))


def load_member(
    path: str, member: Member | None, inputs: Inputs | None = None
) -> tuple[Inventory, Member | None]:
    """load_inventory, then cut to member's shard; a shard or replica the config lacks is a
    ConfigError naming the file. Also the member settled (None without a member)."""
    from netwatch.cluster.member import MemberError, instance_state, settle, shard_view
    from netwatch.config.loader import load_inventory

    inv = load_inventory(path, inputs=inputs)
    if member is None:
        return inv, None
    try:
        settled = settle(member, inv.settings.cluster)
    except MemberError as exc:
        raise ConfigError([Issue(path, 0, "", str(exc))]) from None
    assert settled.shard is not None
    return instance_state(shard_view(inv, settled.shard), settled), settled


def _main(argv: list[str]) -> int:
    _limits()
    unless = None
    if argv[:1] == [UNLESS]:
        unless, argv = argv[1], argv[2:]
    member = None
    if len(argv) == 3:
        member = Member(int(argv[1]) if argv[1] else None, argv[2] or None)
    out = io.BytesIO()
    inputs = Inputs()
    try:
        inv, settled = load_member(argv[0], member, inputs)
    except ConfigError as exc:
        pickle.dump(exc, out, protocol=pickle.HIGHEST_PROTOCOL)
        sys.stdout.buffer.write(out.getbuffer())
        return 0
    devices = list(inv.devices.values())
    # Where each device and village was written serves the child's own error messages only;
    # the running process never reads it (75,000 Source objects and their line numbers,
    # ~5.5 MiB at 50,000 devices), and without it a device that merely moved in the file is
    # equal to its running self at a reload (kept, not re-synced).
    for item in (*devices, *inv.villages.values()):
        object.__setattr__(item, "source", None)
    head = dataclasses.replace(inv, devices={}, villages={})
    pickle.dump(head, out, protocol=pickle.HIGHEST_PROTOCOL)
    for items in (list(inv.villages.values()), devices):
        for i in range(0, len(items), BATCH):
            pickle.dump(items[i : i + BATCH], out, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.dump(None, out)
    # The digest of exactly these bytes: any input that changes the inventory changes them.
    answer = digest(out.getbuffer())
    sys.stdout.buffer.write(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    read = Read(tuple(argv), settled, inputs)
    sys.stdout.buffer.write(pickle.dumps(read, protocol=pickle.HIGHEST_PROTOCOL))
    if answer == unless:
        sys.stdout.buffer.write(pickle.dumps(None))  # unchanged: the parent keeps its own
    else:
        sys.stdout.buffer.write(out.getbuffer())
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
