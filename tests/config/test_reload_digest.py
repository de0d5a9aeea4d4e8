"""A reload of an unchanged config builds no second inventory: the loader child answers
"unchanged" by digest (netwatch.config.isolated), and any change of any file it reads still
gives a new one.

The soak of 3 Dec (docs/performance.md): each good reload of the same file still unpickled a
10,000-device copy before the runtime found it equal, and pymalloc kept that copy's arenas as
RSS. Counted here as bytes the parent receives and devices it unpickles, with real children.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.config import load_inventory
from netwatch.config.isolated import load_changed, load_digested
from netwatch.core import telemetry
from netwatch.core.model import Device
from netwatch.core.runtime import Runtime
from netwatch.core.scheduler import Scheduler
from tests.helpers.configs import BASE, write

VILLAGES = 150  # 300 devices in the included file: a pickle of tens of KB


def district(n: int = 2, address: str = "127.2.1.1") -> str:
    """District 35.10.0n: a POP, VILLAGES villages of a router and an AP (127.n.v.1, .2)."""
    code = f"35.10.0{n}"
    lines = [
        "districts:",
        f'  - code: "{code}"',
        f"    name: Kecamatan {n}",
        "    devices:",
        f"      - {{name: pop-{n}, role: router, address: 127.{n}.0.1, snmp: demo-v2}}",
        "    villages:",
    ]
    for v in range(1, VILLAGES + 1):
        first = address if v == 1 else f"127.{n}.{v}.1"
        lines += [
            f'      - code: "{code}.{2000 + v}"',
            f"        name: Desa {v}",
            "        devices:",
            f"          - {{name: r-{n}-{v}, role: router, address: {first}, parent: pop-{n}}}",
            f"          - {{name: ap-{n}-{v}, role: ap, address: 127.{n}.{v}.2,"
            f" parent: r-{n}-{v}}}",
        ]
    return "\n".join(lines) + "\n"


ROOT = BASE.replace("regency:\n", "include:\n  - districts/*.yaml\nregency:\n", 1)


class Received:
    """What the parent gets from its loader children: stdout bytes and unpickled devices."""

    def __init__(self) -> None:
        self.bytes = 0
        self.devices = 0


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> Iterator[Received]:
    seen = Received()
    communicate = asyncio.subprocess.Process.communicate
    setstate = Device.__setstate__  # type: ignore[attr-defined]

    async def counted(self: asyncio.subprocess.Process, *a: object) -> tuple[bytes, bytes]:
        out, err = await communicate(self, *a)  # type: ignore[arg-type]
        seen.bytes += len(out or b"")
        return out, err

    def decoded(self: Device, state: object) -> None:
        seen.devices += 1
        setstate(self, state)

    monkeypatch.setattr(asyncio.subprocess.Process, "communicate", counted)
    monkeypatch.setattr(Device, "__setstate__", decoded)
    yield seen


def _successes() -> float:
    return telemetry.RELOADS.labels("success")._value.get()


async def test_unchanged_reload_receives_no_inventory_and_is_a_success(
    tmp_path: Path, received: Received
) -> None:
    write(tmp_path, district(), "districts/02.yaml")
    cfg = write(tmp_path, ROOT)
    runtime = Runtime.from_file(cfg)
    running = runtime.inventory
    assert len(running.devices) == 3 + 1 + 2 * VILLAGES
    received.devices = 0  # the start-up's load
    scheduler = Scheduler([], runtime.state.record)
    scheduler.start(running)
    runtime.scheduler = scheduler
    syncs = 0
    sync_async = scheduler.sync_async

    async def counted_sync(inventory):  # type: ignore[no-untyped-def]
        nonlocal syncs
        syncs += 1
        return await sync_async(inventory)

    scheduler.sync_async = counted_sync  # type: ignore[method-assign]
    try:
        before, when = _successes(), telemetry.RELOAD_TIME._value.get()
        for _ in range(3):
            result = await runtime.reload()
            assert result.ok, result.errors
            assert (result.added, result.removed, result.changed) == (0, 0, 0)
        # Both files read as they did: no child at all (tests/config/test_reload_inputs.py).
        assert received.devices == 0 and received.bytes == 0
        # A comment at the end: the child runs, and its answer is the running inventory's.
        cfg.write_text(ROOT + "# a comment\n")
        for _ in range(2):  # the second finds the commented file as the first child read it
            result = await runtime.reload()
            assert result.ok, result.errors
            assert (result.added, result.removed, result.changed) == (0, 0, 0)
        # Nothing of the inventory crossed: the digest, what the child read (two files' names
        # and digests) and a marker; the full answer is > 20 KB.
        assert received.devices == 0
        assert 0 < received.bytes < 1000, received.bytes
        assert runtime.inventory is running and runtime.state.inventory is running
        assert syncs == 0
        assert telemetry.RELOAD_SUCCESS._value.get() == 1
        assert _successes() == before + 5
        assert telemetry.RELOAD_TIME._value.get() > when

        # A changed device in the included file: a new inventory, and the scheduler follows.
        (tmp_path / "districts/02.yaml").write_text(district(address="127.2.1.9"))
        result = await runtime.reload()
        assert result.ok, result.errors
        assert runtime.inventory is not running
        assert runtime.inventory.devices["r-2-1"].address == "127.2.1.9"
        assert received.bytes > 20_000 and received.devices == len(running.devices)
        assert syncs == 1
    finally:
        await scheduler.shutdown()


async def test_every_input_change_gives_a_new_inventory(tmp_path: Path, received: Received) -> None:
    inc = write(tmp_path, district(), "districts/02.yaml")
    cfg = write(tmp_path, ROOT)
    runtime = Runtime.from_file(cfg)

    async def reload(changed: bool) -> None:
        old, decoded = runtime.inventory, received.devices
        result = await runtime.reload()
        assert result.ok, result.errors
        assert (runtime.inventory is not old) is changed
        assert (received.devices > decoded) is changed

    await reload(changed=False)
    # A device of the root file.
    cfg.write_text(ROOT.replace("address: 127.1.1.2", "address: 127.1.1.7"))
    await reload(changed=True)
    assert runtime.inventory.devices["sarongan-ap-1"].address == "127.1.1.7"
    # A profile set on a device.
    cfg.write_text(cfg.read_text().replace("snmp: demo-v2}", "snmp: demo-v2, profile: mikrotik}"))
    await reload(changed=True)
    assert runtime.inventory.devices["pop-1"].profile == "mikrotik"
    # A credential's secret reference.
    cfg.write_text(cfg.read_text().replace("NETWATCH_SNMP_COMMUNITY", "NETWATCH_SNMP_OTHER"))
    await reload(changed=True)
    assert "NETWATCH_SNMP_OTHER" in repr(runtime.inventory.credentials["demo-v2"])
    await reload(changed=False)
    # An included file, and a new file that the include's glob now matches.
    inc.write_text(district().replace("name: Desa 7\n", "name: Desa Tujuh\n"))
    await reload(changed=True)
    assert runtime.inventory.villages["35.10.02.2007"].name == "Desa Tujuh"
    write(tmp_path, district(3, address="127.3.1.1"), "districts/03.yaml")
    await reload(changed=True)
    assert "35.10.03" in runtime.inventory.districts
    # Back to a file read before: the running inventory is another one, so this is a change.
    (tmp_path / "districts/03.yaml").unlink()
    await reload(changed=True)
    assert "35.10.03" not in runtime.inventory.districts

    # A broken file is refused and the old inventory stays; the good one again is unchanged.
    kept = runtime.inventory
    good = cfg.read_text()
    cfg.write_text(good.replace("interval: 30s", "interval: .nan"))
    result = await runtime.reload()
    assert not result.ok and "must be a finite number" in result.errors[0]
    assert runtime.inventory is kept
    assert telemetry.RELOAD_SUCCESS._value.get() == 0
    cfg.write_text(good)
    await reload(changed=False)
    assert telemetry.RELOAD_SUCCESS._value.get() == 1


async def test_a_runtime_without_a_digest_learns_it_at_the_first_reload(
    tmp_path: Path, received: Received
) -> None:
    write(tmp_path, district(), "districts/02.yaml")
    cfg = write(tmp_path, ROOT)
    runtime = Runtime(cfg, load_inventory(cfg))  # as `netwatch demo` builds it: no digest
    assert (await runtime.reload()).ok
    running = runtime.inventory
    assert received.devices == len(running.devices)
    assert (await runtime.reload()).ok
    assert runtime.inventory is running and received.devices == len(running.devices)


def test_the_digest_is_the_same_in_every_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hash randomisation changes set and dict orders built from hashes: the answer must not.
    write(tmp_path, district(), "districts/02.yaml")
    cfg = write(tmp_path, ROOT)
    digests = set()
    for seed in ("1", "2", "3"):
        monkeypatch.setenv("PYTHONHASHSEED", seed)
        digests.add(load_digested(cfg).digest)
    assert len(digests) == 1
    (digest,) = digests
    same = asyncio.run(load_changed(cfg, unless=digest))
    assert same.inventory is None and same.digest == digest
    other = asyncio.run(load_changed(cfg, unless="0" * 32))
    assert other.inventory is not None and other.digest == digest
    cfg.write_text(ROOT.replace("Sarongan", "Sarongan Baru"))
    changed = asyncio.run(load_changed(cfg, unless=digest))
    assert changed.inventory is not None and changed.digest != digest
    assert changed.inventory.villages["35.10.01.2001"].name == "Sarongan Baru"


async def test_an_unchanged_reload_binds_a_trap_port_freed_meanwhile(tmp_path: Path) -> None:
    # Nothing is swapped, but what a reload is also for still happens: the port is tried now.
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    traps = f"  snmp_traps: {{enabled: true, address: 127.0.0.1, port: {port}}}\n"
    cfg = write(tmp_path, BASE.replace("settings:\n", "settings:\n" + traps, 1))
    runtime = Runtime.from_file(cfg)
    try:
        await runtime._start_traps()
        assert "cannot bind" in runtime.health.faults["trap_listener"]
        taken.close()
        result = await runtime.reload()
        assert result.ok, result.errors
        assert "trap_listener" not in runtime.health.faults
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with pytest.raises(OSError):  # the listener holds the port now
            probe.bind(("127.0.0.1", port))
        probe.close()
    finally:
        taken.close()
        await runtime.stop()
