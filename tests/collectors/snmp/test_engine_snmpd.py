"""The engine against a real net-snmp snmpd, checked against net-snmp's own CLI tools."""

from __future__ import annotations

import pytest

from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.types import Kind, SnmpError, Target, parse_oid
from tests.collectors.snmp.conftest import AUTH_KEY, AUTH_MATRIX, PRIV_KEY, PRIV_MATRIX
from tests.helpers.netsnmp import NETSNMP_FLAGS, parse_netsnmp
from tests.helpers.snmpd import Snmpd

SYSTEM = "1.3.6.1.2.1.1"
IF_TABLE = "1.3.6.1.2.1.2.2"
IF_X_TABLE = "1.3.6.1.2.1.31.1.1"
SYS_UPTIME = parse_oid("1.3.6.1.2.1.1.3.0")
# Values that move between two walks: traffic counters and clocks, with where they wrap (a
# busy loopback's 32-bit octet counter wraps every few minutes on a loaded machine).
MOVING = {Kind.COUNTER32: 1 << 32, Kind.COUNTER64: 1 << 64, Kind.TIMETICKS: 1 << 32}


def netsnmp_walk(agent: Snmpd, root: str, *args: str, tool: str = "snmpbulkwalk") -> list:
    out = agent.run_tool(tool, *NETSNMP_FLAGS, *args, f"{agent.host}:{agent.port}", root)
    return parse_netsnmp(out)


def assert_same_walk(ours: list, before: list, after: list) -> None:
    """Same OIDs and kinds as net-snmp; static values equal, moving ones bracketed."""
    assert [o for o, _ in ours] == [o for o, _, _ in before] == [o for o, _, _ in after]
    for (oid, value), (_, k1, v1), (_, k2, v2) in zip(ours, before, after, strict=True):
        assert value.kind == k1 == k2, oid
        if value.kind in MOVING:  # between the two, counted forward from v1 (modulo the wrap)
            wrap = MOVING[value.kind]
            assert (value.value - v1) % wrap <= (v2 - v1) % wrap, oid
        else:
            assert value.value == v1 == v2, oid


@pytest.mark.parametrize("root", [SYSTEM, IF_TABLE, IF_X_TABLE])
async def test_v2c_bulk_walk_matches_snmpbulkwalk(snmpd: Snmpd, root: str) -> None:
    before = netsnmp_walk(snmpd, root, "-v2c", "-c", "public", "-Cr25")
    async with SnmpEngine() as engine:
        ours = await engine.walk(Target(snmpd.host, snmpd.port), parse_oid(root))
    after = netsnmp_walk(snmpd, root, "-v2c", "-c", "public", "-Cr25")
    assert len(ours) > 5
    assert_same_walk(ours, before, after)


@pytest.mark.parametrize("root", [SYSTEM, IF_TABLE])
async def test_v1_getnext_walk_matches_snmpwalk(snmpd: Snmpd, root: str) -> None:
    before = netsnmp_walk(snmpd, root, "-v1", "-c", "public", tool="snmpwalk")
    async with SnmpEngine() as engine:
        target = Target(snmpd.host, snmpd.port, version="1")
        ours = await engine.walk(target, parse_oid(root))
        assert engine.stats.sent == len(ours) + 1  # one GETNEXT per row, plus the last
    after = netsnmp_walk(snmpd, root, "-v1", "-c", "public", tool="snmpwalk")
    assert_same_walk(ours, before, after)


async def test_v1_get_missing_is_no_such_object(snmpd: Snmpd) -> None:
    # v1 answers noSuchName for the whole PDU; the engine reports the object as missing,
    # as v2c does, instead of failing (test_v1_partial_system has the mixed case).
    async with SnmpEngine() as engine:
        got = await engine.get(Target(snmpd.host, snmpd.port, version="1"), [(1, 3, 6, 1, 9, 9)])
    assert got[(1, 3, 6, 1, 9, 9)].kind == Kind.NO_SUCH_OBJECT


async def test_v2c_get_exceptions_are_values(snmpd: Snmpd) -> None:
    async with SnmpEngine() as engine:
        got = await engine.get(
            Target(snmpd.host, snmpd.port), [SYS_UPTIME, (1, 3, 6, 1, 2, 1, 1, 99, 0)]
        )
    assert got[SYS_UPTIME].kind == Kind.TIMETICKS
    assert got[(1, 3, 6, 1, 2, 1, 1, 99, 0)].kind == Kind.NO_SUCH_OBJECT


async def test_v2c_wrong_community_times_out(snmpd: Snmpd) -> None:
    async with SnmpEngine() as engine:
        target = Target(snmpd.host, snmpd.port, community="wrong", timeout=0.2, retries=1)
        with pytest.raises(SnmpError) as err:
            await engine.get(target, [SYS_UPTIME])
    assert err.value.reason == "timeout"


def v3_target(agent: Snmpd, user: str, auth: str, priv: str | None = None, **kw) -> Target:
    return Target(
        agent.host, agent.port, version="3", user=user, auth_protocol=auth, auth_key=AUTH_KEY,
        priv_protocol=priv, priv_key=PRIV_KEY if priv else None, **kw,
    )  # fmt: skip


async def test_v3_sha256_aes128_walk_matches_snmpbulkwalk(snmpd: Snmpd) -> None:
    args = ("-v3", "-l", "authPriv", "-u", "priv-AES", "-a", "SHA-256", "-A", AUTH_KEY)
    args += ("-x", "AES", "-X", PRIV_KEY, "-Cr25")
    before = netsnmp_walk(snmpd, IF_TABLE, *args)
    async with SnmpEngine() as engine:
        target = v3_target(snmpd, "priv-AES", "sha256", "aes128")
        ours = await engine.walk(target, parse_oid(IF_TABLE))
    after = netsnmp_walk(snmpd, IF_TABLE, *args)
    assert_same_walk(ours, before, after)


@pytest.mark.parametrize("auth", sorted(AUTH_MATRIX))
async def test_v3_auth_protocols(snmpd: Snmpd, auth: str) -> None:
    async with SnmpEngine() as engine:
        got = await engine.get(v3_target(snmpd, f"auth-{auth}", AUTH_MATRIX[auth]), [SYS_UPTIME])
    assert got[SYS_UPTIME].kind == Kind.TIMETICKS


@pytest.mark.parametrize("priv", sorted(PRIV_MATRIX))
async def test_v3_priv_protocols(snmpd: Snmpd, priv: str) -> None:
    ours, auth = PRIV_MATRIX[priv]
    oid = parse_oid("1.3.6.1.2.1.1.5.0")
    args = ("-v3", "-l", "authPriv", "-u", f"priv-{priv}", "-a", auth, "-A", AUTH_KEY)
    expected = parse_netsnmp(
        snmpd.run_tool("snmpget", *NETSNMP_FLAGS, *args, "-x", priv, "-X", PRIV_KEY,
                       f"{snmpd.host}:{snmpd.port}", "1.3.6.1.2.1.1.5.0")
    )  # fmt: skip
    async with SnmpEngine() as engine:
        target = v3_target(snmpd, f"priv-{priv}", AUTH_MATRIX[auth], ours)
        got = await engine.get(target, [oid])
    assert [(oid, got[oid].kind, got[oid].value)] == expected


@pytest.mark.parametrize(("user", "wrong"), [("AES-256", "aes256c"), ("AES256C", "aes256")])
async def test_v3_blumenthal_and_reeder_keys_differ(snmpd: Snmpd, user: str, wrong: str) -> None:
    # The agent cannot decrypt with the other key extension and drops the request.
    _, auth = PRIV_MATRIX[user]
    async with SnmpEngine() as engine:
        target = v3_target(snmpd, f"priv-{user}", AUTH_MATRIX[auth], wrong, timeout=0.3, retries=0)
        with pytest.raises(SnmpError) as err:
            await engine.get(target, [SYS_UPTIME])
    assert err.value.reason == "timeout"


async def test_v3_wrong_auth_key_is_auth_error(snmpd: Snmpd) -> None:
    async with SnmpEngine() as engine:
        target = Target(
            snmpd.host, snmpd.port, version="3", user="priv-AES", auth_protocol="sha256",
            auth_key="not-the-key", priv_protocol="aes128", priv_key=PRIV_KEY, timeout=2,
        )  # fmt: skip
        with pytest.raises(SnmpError) as err:
            await engine.get(target, [SYS_UPTIME])
    assert err.value.reason == "auth"
    assert "digest" in str(err.value).lower()


async def test_v3_unknown_user_is_auth_error(snmpd: Snmpd) -> None:
    async with SnmpEngine() as engine:
        target = v3_target(snmpd, "nobody-here", "sha", timeout=2)
        with pytest.raises(SnmpError) as err:
            await engine.get(target, [SYS_UPTIME])
    assert err.value.reason == "auth"
