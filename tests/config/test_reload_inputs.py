"""A reload of files that read as they did starts no loader child (netwatch.config.inputs).

Issue 10: `run_bench.py` reloads an unchanged 50,000-device file every 30 s; each reload ran a
child that parsed the whole file (~4 s of a core on a 2-core machine) only to answer
"unchanged". The child now also says which files and include globs it read; while every one
of them reads the same, the reload is answered without a child. Any change of any input
(a file's text, a file gone, a glob matching other files, the working directory of a
relative path) starts a child as before. Counted here: children started, with real ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netwatch.cluster.member import Member
from netwatch.config.inputs import Inputs, Read, text_digest
from netwatch.config.isolated import load_changed, load_digested
from netwatch.core.runtime import Runtime
from tests.helpers.configs import BASE, write

ROOT = BASE.replace("regency:\n", "include:\n  - districts/*.yaml\n  - extra.yaml\nregency:\n", 1)


def district(n: int, name: str = "Kecamatan") -> str:
    return (
        "districts:\n"
        f'  - code: "35.10.0{n}"\n'
        f"    name: {name} {n}\n"
        "    devices:\n"
        f"      - {{name: pop-{n}, role: router, address: 127.{n}.0.1}}\n"
    )


EXTRA = "districts: []\n"


class Children:
    def __init__(self) -> None:
        self.started = 0


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> Iterator[Children]:
    seen = Children()
    spawn = asyncio.create_subprocess_exec

    async def counted(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        seen.started += 1
        return await spawn(*args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", counted)
    yield seen


def _files(tmp_path: Path) -> Path:
    write(tmp_path, district(2), "districts/02.yaml")
    write(tmp_path, EXTRA, "extra.yaml")
    return write(tmp_path, ROOT)


async def test_unchanged_files_need_no_child_and_every_change_starts_one(
    tmp_path: Path, children: Children
) -> None:
    cfg = _files(tmp_path)
    runtime = Runtime.from_file(cfg)  # a child, synchronously (not counted: not asyncio's)
    running = runtime.inventory

    async def reload(child: bool) -> None:
        before = children.started
        result = await runtime.reload()
        assert result.ok, result.errors
        assert children.started == before + (1 if child else 0)

    await reload(child=False)
    await reload(child=False)
    assert runtime.inventory is running
    # The same bytes written again (a config-management run): still no child.
    cfg.write_text(cfg.read_text())
    await reload(child=False)

    # The root file's text: one device's address.
    cfg.write_text(ROOT.replace("address: 127.1.1.2", "address: 127.1.1.9"))
    await reload(child=True)
    assert runtime.inventory.devices["sarongan-ap-1"].address == "127.1.1.9"
    await reload(child=False)
    # A file matched by the glob.
    (tmp_path / "districts/02.yaml").write_text(district(2, "Kecamatan Baru"))
    await reload(child=True)
    assert runtime.inventory.districts["35.10.02"].name == "Kecamatan Baru 2"
    # A plain include's text.
    (tmp_path / "extra.yaml").write_text(EXTRA + "# a comment\n")
    await reload(child=True)
    await reload(child=False)
    # A new file the glob matches, then that file gone again.
    write(tmp_path, district(3), "districts/03.yaml")
    await reload(child=True)
    assert "35.10.03" in runtime.inventory.districts
    (tmp_path / "districts/03.yaml").unlink()
    await reload(child=True)
    assert "35.10.03" not in runtime.inventory.districts
    await reload(child=False)


async def test_a_missing_include_is_still_refused_by_file_and_line(
    tmp_path: Path, children: Children
) -> None:
    cfg = _files(tmp_path)
    runtime = Runtime.from_file(cfg)
    running = runtime.inventory
    extra = tmp_path / "extra.yaml"
    extra.unlink()
    result = await runtime.reload()
    assert children.started == 1
    assert not result.ok
    # Counted by hand in ROOT: settings (3 lines), credentials (5), include:, the glob, then
    # `- extra.yaml` on line 11.
    line = ROOT.splitlines().index("  - extra.yaml") + 1
    assert line == 11
    assert result.errors == [f"{cfg}:{line}: include[1]: include file {extra} not found"], (
        result.errors
    )
    assert runtime.inventory is running
    # Back as it was: the running inventory is what the files say, no child needed.
    extra.write_text(EXTRA)
    assert (await runtime.reload()).ok
    assert children.started == 1 and runtime.inventory is running


async def test_a_relative_path_read_from_another_directory_starts_a_child(
    tmp_path: Path, children: Children, monkeypatch: pytest.MonkeyPatch
) -> None:
    _files(tmp_path / "a")
    _files(tmp_path / "b")
    (tmp_path / "b/districts/02.yaml").write_text(district(2, "Kecamatan B"))
    monkeypatch.chdir(tmp_path / "a")
    first = load_digested("netwatch.yaml", Member())
    same = await load_changed("netwatch.yaml", Member(), unless=first.digest)
    assert same.inventory is None and children.started == 0
    monkeypatch.chdir(tmp_path / "b")
    other = await load_changed("netwatch.yaml", Member(), unless=first.digest)
    assert children.started == 1
    assert other.inventory is not None and other.digest != first.digest
    assert other.inventory.districts["35.10.02"].name == "Kecamatan B 2"


async def test_only_the_same_question_is_answered_without_a_child(
    tmp_path: Path, children: Children
) -> None:
    cfg = str(_files(tmp_path))
    start = load_digested(cfg, Member())  # as `netwatch run` starts: nothing told
    # The runtime's reloads ask for the member settled: shard 0, replica "a" (one of each).
    settled = await load_changed(cfg, Member(0, "a"), unless=start.digest)
    assert settled.inventory is None and children.started == 0
    # The whole inventory (no member: not cut to a shard) is another question: a child.
    whole = await load_changed(cfg, None, unless=start.digest)
    assert children.started == 1
    # Its answer is remembered as its own: asked again, no child.
    again = await load_changed(cfg, None, unless=whole.digest)
    assert again.inventory is None and again.digest == whole.digest
    assert children.started == 1


def test_what_counts_as_the_same_question() -> None:
    inputs = Inputs(cwd="/", files=[], globs=[])
    asked = Read(("n.yaml", "", ""), Member(0, "a"), inputs)
    assert asked.answers("n.yaml", Member(None, None))
    assert asked.answers("n.yaml", Member(0, "a"))
    assert not asked.answers("n.yaml", Member(0, None))  # settles the same only if one replica
    assert not asked.answers("n.yaml", Member(1, "a"))
    assert not asked.answers("n.yaml", None)
    assert not asked.answers("other.yaml", Member(0, "a"))
    whole = Read(("n.yaml",), None, inputs)
    assert whole.answers("n.yaml", None)
    assert not whole.answers("n.yaml", Member(None, None))


def test_inputs_compare_text_as_read(tmp_path: Path) -> None:
    path = tmp_path / "n.yaml"
    path.write_bytes(b"a: 1\nb: 2\n")
    inputs = Inputs(cwd=str(Path.cwd()), files=[(str(path), text_digest("a: 1\nb: 2\n"))])
    assert inputs.unchanged()
    path.write_bytes(b"a: 1\r\nb: 2\r\n")  # the loader reads text: the same lines
    assert inputs.unchanged()
    path.write_bytes(b"a: 1\nb: 3\n")
    assert not inputs.unchanged()
    path.write_bytes(b"a: \xff\n")  # no longer UTF-8: the child must say so
    assert not inputs.unchanged()
    path.unlink()
    assert not inputs.unchanged()
