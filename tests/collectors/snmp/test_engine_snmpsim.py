"""Walks of real-device recordings served by snmpsim, checked against the .snmprec files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.types import Kind, Target, parse_oid
from tests.helpers.snmpsim import parse_snmprec, running_snmpsim

ROOTS = [(1, 0), (1, 2), (1, 3)]  # every OID in the recordings starts with one of these


def expected_rows(path: Path) -> list[tuple[tuple[int, ...], int, object]]:
    """The file's records, sorted by OID, first occurrence of a duplicate kept."""
    seen: dict[tuple[int, ...], tuple[int, object]] = {}
    for oid, code, value in parse_snmprec(path):
        seen.setdefault(oid, (code, value))
    return [(oid, *seen[oid]) for oid in sorted(seen)]


def plain(rows) -> list[tuple[tuple[int, ...], int, object]]:
    return [(oid, int(v.kind), v.value) for oid, v in rows]


async def walk_all(engine: SnmpEngine, target: Target) -> list:
    rows = []
    for root in ROOTS:
        rows += await engine.walk(target, root)
    return rows


@pytest.mark.parametrize(
    "name", ["routeros", "smartax", "vsolution_v1600d", "airos_airos8", "edgeosolt", "linux_ntc"]
)
async def test_full_walk_returns_the_recording(
    snmpsim: tuple[str, int], snmprec: Path, name: str
) -> None:
    host, port = snmpsim
    async with SnmpEngine() as engine:
        rows = await walk_all(engine, Target(host, port, community=name, timeout=3))
    assert plain(rows) == expected_rows(snmprec / f"{name}.snmprec")


async def test_smartax_ifindex_above_2_31(snmpsim: tuple[str, int], snmprec: Path) -> None:
    host, port = snmpsim
    column = parse_oid("1.3.6.1.2.1.2.2.1.2")  # ifDescr, indexed by ifIndex
    in_file = [oid[-1] for oid, _, _ in parse_snmprec(snmprec / "smartax.snmprec")
               if oid[:-1] == column]  # fmt: skip
    async with SnmpEngine() as engine:
        rows = await engine.walk(Target(host, port, community="smartax"), column)
    assert [oid[-1] for oid, _ in rows] == sorted(in_file)
    assert max(in_file) == 4194316032 > 2**31


async def test_zxa10_unsorted_tail_terminates(snmpsim: tuple[str, int], snmprec: Path) -> None:
    host, port = snmpsim
    async with SnmpEngine() as engine:
        rows = await walk_all(engine, Target(host, port, community="zxa10_c320", timeout=3))
    oids = [oid for oid, _ in rows]
    assert oids == sorted(set(oids))
    expected = {oid: (code, value) for oid, code, value in expected_rows(
        snmprec / "zxa10_c320.snmprec")}  # fmt: skip
    # HOWTO.md gotcha 3: snmpsim follows file order, so a walk reaches 2738 of 2806 OIDs.
    assert len(rows) == 2738 and len(expected) == 2806
    for oid, value in rows:
        assert (int(value.kind), value.value) == expected[oid]
    escaped = [oid for oid, (code, value) in expected.items() if oid in set(oids) and code == 4]
    assert escaped


BIG = parse_oid("1.3.6.1.4.1.99999.1")


def add_big_values(data: Path) -> None:
    # 40 values of 3000 bytes: a 25-repetition answer (~75 KB) exceeds UDP, snmpsim drops it.
    lines = [f"{'.'.join(map(str, BIG))}.{i}|4x|{(bytes([i]) * 3000).hex()}" for i in range(1, 41)]
    (data / "bigvalues.snmprec").write_text("1.3.6.1.2.1.1.3.0|67|100\n" + "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def big_agent(tmp_path_factory) -> Iterator[tuple[str, int]]:  # no recordings needed
    only = tmp_path_factory.mktemp("big")
    with running_snmpsim(only, transform=add_big_values, probe_community="bigvalues") as ep:
        yield ep


async def test_dropped_bulk_answer_reduces_repetitions(big_agent: tuple[str, int]) -> None:
    host, port = big_agent
    async with SnmpEngine() as engine:
        target = Target(host, port, community="bigvalues", timeout=0.5, max_repetitions=25)
        rows = await engine.walk(target, BIG)
        reductions, timeouts = engine.stats.repetition_reductions, engine.stats.timeouts
        assert reductions >= 1 and timeouts >= 1
        # The next walk starts at the repetitions that worked: no timeout again.
        assert await engine.walk(target, BIG) == rows
        assert engine.stats.repetition_reductions == reductions
        assert engine.stats.timeouts == timeouts
    assert [(oid[-1], v.kind, v.value) for oid, v in rows] == [
        (i, Kind.OCTET_STRING, bytes([i]) * 3000) for i in range(1, 41)
    ]


async def test_concurrent_walks_of_every_recording_share_one_socket(
    snmpsim: tuple[str, int], snmprec: Path
) -> None:
    import asyncio

    host, port = snmpsim
    roots = [parse_oid("1.3.6.1.2.1.2.2"), parse_oid("1.3.6.1.2.1.31.1.1")]
    names = sorted(p.stem for p in snmprec.glob("*.snmprec"))
    assert len(names) == 19
    async with SnmpEngine() as engine:
        results = await asyncio.gather(*(
            engine.walk(Target(host, port, community=name, timeout=5), root)
            for name in names for root in roots
        ))  # fmt: skip
        assert len(engine._transports) == 1
    for (name, root), rows in zip([(n, r) for n in names for r in roots], results, strict=True):
        expected = [row for row in expected_rows(snmprec / f"{name}.snmprec")
                    if row[0][: len(root)] == root]  # fmt: skip
        assert plain(rows) == expected, name
