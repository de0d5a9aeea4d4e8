"""A reload of a large inventory lets the event loop run while the parts adopt it, each whole.

Issue 10: at 50,000 devices a reload's steps each held the loop in one piece (the alert
engine's adoption 66-73 ms, the state's 9-12 ms), and polls due meanwhile started late. Each
part now builds what is new aside, in pieces with the loop's other work in between, and
adopts it in its last piece: whoever runs between two pieces sees that part's old inventory
whole. Counted in turns of the loop, never timed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Generator
from pathlib import Path

import pytest

from netwatch.alerting.engine import ADOPT_SLICE
from netwatch.alerting.rules import Topology
from netwatch.alerting.service import AlertService
from netwatch.config.isolated import load
from netwatch.core.model import Inventory
from netwatch.core.runtime import Runtime
from netwatch.core.state import REPLACE_SLICE, State
from netwatch.core.turns import in_turns

DEVICES = 12_000  # more than two pieces of the engine's adoption and of the state's


def inventory_text(devices: int) -> str:
    """Villages of a router and an AP behind it, 500 villages a district, on 127.x.y.z."""
    lines = ["regency:", '  code: "35.10"', "  name: Test", "  districts:"]
    villages = devices // 2
    for v in range(villages):
        d, k = divmod(v, 500)
        if k == 0:
            lines += [f'    - code: "35.10.{d + 1:02d}"', f"      name: D{d}", "      villages:"]
        code = f"35.10.{d + 1:02d}.{2001 + k}"
        a, b = divmod(2 * v, 250)
        lines += [
            f'        - code: "{code}"',
            f"          name: V{v}",
            "          kind: desa",
            "          devices:",
            f"            - {{name: r-{v}, role: router, address: 127.3.{a}.{b + 1}}}",
            f"            - {{name: ap-{v}, role: ap, address: 127.3.{a}.{b + 2}, parent: r-{v}}}",
        ]
    return "\n".join(lines) + "\n"


async def test_the_loop_runs_while_the_alert_engine_adopts_a_reload_and_sees_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the alert database
    cfg = tmp_path / "n.yaml"
    text = inventory_text(DEVICES)
    cfg.write_text(text)
    runtime = Runtime.from_file(cfg)
    old = runtime.inventory
    assert len(old.devices) == DEVICES
    service = AlertService.create(old, runtime.state, None, tracer=False)
    runtime.alerts = service
    engine = service.engine
    turns: list[tuple[bool, bool]] = []  # (state on the old inventory, engine on the old)
    done = asyncio.Event()

    async def other_work() -> None:  # always ready: any turn the reload gives, it takes
        while not done.is_set():
            e = engine
            # Never half of an inventory: the engine's parts all belong to one.
            assert e.topology.inventory is e.inventory
            assert e.causes.inventory is e.inventory
            assert e.kinds.topology is e.topology
            assert set(e.tracker.tracks) == set(e.inventory.devices)
            turns.append((runtime.state.inventory is old, e.inventory is old))
            await asyncio.sleep(0)

    # ap-5999, the file's last device: 2 * 5999 = 11998 = 47 * 250 + 248 -> 127.3.47.250
    last = "address: 127.3.47.250,"
    assert text.count(last) == 1
    cfg.write_text(text.replace(last, "address: 127.254.0.1,"))
    task = asyncio.get_running_loop().create_task(other_work())
    result = await runtime.reload()
    done.set()
    await task
    assert result.ok, result.errors
    new = runtime.inventory
    assert new is not old and new.devices["ap-5999"].address == "127.254.0.1"
    assert runtime.state.inventory is new and engine.inventory is new
    assert engine.topology.inventory is new
    # The engine's adoption went in pieces (one per ADOPT_SLICE devices at least), and the
    # loop ran other work between them, while the state already held the new inventory.
    between = sum(1 for state_old, engine_old in turns if not state_old and engine_old)
    assert between >= DEVICES // ADOPT_SLICE + 1, turns.count((False, True))
    # Whoever ran before the state adopted it saw the old inventory everywhere.
    assert (True, False) not in turns


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    cfg = tmp_path_factory.mktemp("big") / "n.yaml"
    cfg.write_text(inventory_text(DEVICES))
    return load(cfg)


def test_state_adopts_a_reload_whole_in_its_last_piece(big: Inventory) -> None:
    state = State(big)
    table = state.devices
    kept = table["ap-0"]
    moved = dataclasses.replace(big.devices["ap-0"], address="127.254.0.2")
    new = dataclasses.replace(big, devices={**big.devices, "ap-0": moved})
    pieces = 0
    for _ in state.replace_steps(new):
        pieces += 1
        # Between pieces: the old table and inventory, untouched.
        assert state.inventory is big and state.devices is table
        assert table["ap-0"].device is big.devices["ap-0"]
    assert pieces >= DEVICES // REPLACE_SLICE
    assert state.inventory is new and state.devices is not table
    assert state.devices["ap-0"] is kept and kept.device is moved  # its history stays
    assert all(state.devices[n] is table[n] for n in big.devices)


def test_the_topology_built_in_pieces_is_the_topology(big: Inventory) -> None:
    whole = Topology(big)
    steps = Topology.in_steps(big, 1000)
    pieces = 0
    while True:
        try:
            next(steps)
        except StopIteration as done:
            built = done.value
            break
        pieces += 1
    # Every device, village and device again, a pause each 1,000 of them.
    assert pieces >= (DEVICES + DEVICES // 2 + DEVICES) // 1000
    assert built.ancestors == whole.ancestors and built.ancestors["ap-7"] == ("r-7",)
    assert built.behind == whole.behind and built.descendants == whole.descendants
    assert built.pinged == whole.pinged and built.upstream == whole.upstream
    assert built.descendants["r-7"] == ["ap-7"]


async def test_in_turns_gives_the_loop_a_turn_at_each_pause() -> None:
    ran: list[int] = []

    def work() -> Generator[None, None, str]:
        for k in range(3):
            ran.append(k)
            yield
        return "done"

    async def other() -> None:
        for _ in range(3):
            ran.append(-1)
            await asyncio.sleep(0)

    task = asyncio.get_running_loop().create_task(other())
    assert await in_turns(work()) == "done"
    await task
    # The other task ran between the pieces, not after the last one only.
    assert ran.index(-1) < ran.index(2)
