"""SNMPv1 agents that lack some system objects still poll: real snmpd, a view without sysName.

A v1 GET fails as a whole on noSuchName; the engine drops the object the error-index names
and asks again (as net-snmp's snmpget does). Expected values come from net-snmp's snmpget.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator

import pytest

from netwatch.collectors.snmp.collector import probe_target
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.types import Kind, SnmpError, Target, parse_oid
from tests.helpers.netsnmp import NETSNMP_FLAGS, parse_netsnmp
from tests.helpers.snmpd import Snmpd, running_snmpd

COMMUNITY = "v1-partial"
SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME = (
    "1.3.6.1.2.1.1.1.0",
    "1.3.6.1.2.1.1.2.0",
    "1.3.6.1.2.1.1.3.0",
    "1.3.6.1.2.1.1.5.0",
)
HR_UPTIME = "1.3.6.1.2.1.25.1.1.0"


@pytest.fixture(scope="module")
def v1_agent() -> Iterator[Snmpd]:
    # The view holds the system group and the interfaces, minus sysName: a v1 GET that asks
    # for sysName (or hrSystemUptime, outside the view) gets noSuchName for the whole PDU.
    conf = [
        "view partial included .1.3.6.1.2.1.1",
        "view partial excluded .1.3.6.1.2.1.1.5",
        "view partial included .1.3.6.1.2.1.2",
        f"rocommunity {COMMUNITY} 127.0.0.1 -V partial",
    ]
    with running_snmpd(extra_conf=conf) as agent:
        yield agent


def snmpget_v1(agent: Snmpd, *oids: str) -> subprocess.CompletedProcess[str]:
    """net-snmp's snmpget -v1 with -Cf: do not fix (retry) the PDU, show the raw error."""
    return subprocess.run(
        agent.tool(
            "snmpget",
            *NETSNMP_FLAGS,
            "-v1",
            "-c",
            COMMUNITY,
            "-Cf",
            f"{agent.host}:{agent.port}",
            *oids,
        ),
        capture_output=True,
        text=True,
        timeout=10,
        env=agent.env,
    )


def test_the_agent_really_fails_the_whole_v1_get(v1_agent: Snmpd) -> None:
    both = snmpget_v1(v1_agent, SYS_DESCR, SYS_NAME)
    assert both.returncode != 0 and "noSuchName" in both.stdout + both.stderr
    alone = snmpget_v1(v1_agent, SYS_DESCR)
    assert alone.returncode == 0 and parse_netsnmp(alone.stdout)


async def test_v1_get_drops_the_missing_object_and_asks_again(v1_agent: Snmpd) -> None:
    want = [parse_oid(o) for o in (SYS_DESCR, SYS_NAME, SYS_UPTIME, HR_UPTIME)]
    async with SnmpEngine() as engine:
        got = await engine.get(Target(v1_agent.host, v1_agent.port, "1", COMMUNITY), want)
    ref = {oid: value for oid, _, value in parse_netsnmp(snmpget_v1(v1_agent, SYS_DESCR).stdout)}
    assert set(got) == set(want)
    assert got[parse_oid(SYS_DESCR)].value == ref[parse_oid(SYS_DESCR)]
    assert got[parse_oid(SYS_NAME)].kind == Kind.NO_SUCH_OBJECT
    assert got[parse_oid(HR_UPTIME)].kind == Kind.NO_SUCH_OBJECT
    assert got[parse_oid(SYS_UPTIME)].kind == Kind.TIMETICKS


async def test_v1_get_of_nothing_there_is_all_missing_not_an_error(v1_agent: Snmpd) -> None:
    async with SnmpEngine() as engine:
        got = await engine.get(
            Target(v1_agent.host, v1_agent.port, "1", COMMUNITY), [parse_oid(SYS_NAME)]
        )
    assert got == {parse_oid(SYS_NAME): got[parse_oid(SYS_NAME)]}
    assert got[parse_oid(SYS_NAME)].kind == Kind.NO_SUCH_OBJECT


async def test_v1_poll_of_an_agent_without_sysname_succeeds(v1_agent: Snmpd) -> None:
    target = Target(v1_agent.host, v1_agent.port, "1", COMMUNITY, timeout=1.0, retries=0)
    async with SnmpEngine() as engine:
        obs = await probe_target("v1-agent", target, engine)
    assert obs.error is None, obs.message
    ref = {
        oid: value
        for oid, _, value in parse_netsnmp(snmpget_v1(v1_agent, SYS_DESCR, SYS_OBJECT_ID).stdout)
    }
    assert obs.sys_descr == ref[parse_oid(SYS_DESCR)].decode()
    assert obs.sys_object_id == ".".join(map(str, ref[parse_oid(SYS_OBJECT_ID)]))
    assert obs.sys_name == ""
    assert obs.uptime_source == "sysUpTime" and obs.uptime_ticks
    names = subprocess.run(
        v1_agent.tool(
            "snmpwalk",
            *NETSNMP_FLAGS,
            "-v1",
            "-c",
            COMMUNITY,
            f"{v1_agent.host}:{v1_agent.port}",
            "1.3.6.1.2.1.2.2.1.2",
        ),
        capture_output=True,
        text=True,
        timeout=10,
        env=v1_agent.env,
        check=True,
    ).stdout
    assert {i.descr for i in obs.interfaces} == {v.decode() for _, _, v in parse_netsnmp(names)}


async def test_v1_wrong_community_is_still_a_timeout(v1_agent: Snmpd) -> None:
    target = Target(v1_agent.host, v1_agent.port, "1", "nobody-knows", timeout=0.3, retries=0)
    async with SnmpEngine() as engine:
        with pytest.raises(SnmpError) as err:
            await asyncio.wait_for(engine.get(target, [parse_oid(SYS_DESCR)]), 5)
    assert err.value.reason == "timeout"


@pytest.mark.parametrize("version", ["1", "2c"])
async def test_later_polls_read_the_same_system_v1_by_get_v2c_riding_in_the_walk(
    v1_agent: Snmpd, version: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # From the second poll a v2c agent's system scalars ride as GETNEXTs in the walk's first
    # request (the GETNEXT of the columns' last rows, predict.py): sysName, outside the view,
    # then answers with the next object in it, and must read as missing, as the GET's
    # noSuchObject did. v1 keeps its GETs.
    from netwatch.collectors.snmp import ber, collector

    monkeypatch.setattr(collector, "_last_stack", {})
    target = Target(v1_agent.host, v1_agent.port, version, COMMUNITY, timeout=1.0, retries=0)
    ref = {
        oid: value
        for oid, _, value in parse_netsnmp(snmpget_v1(v1_agent, SYS_DESCR, SYS_OBJECT_ID).stdout)
    }
    # Each scalar x.0 rides as the GETNEXT of x.
    carried = {
        parse_oid(o)[:-1] for o in (SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME, HR_UPTIME)
    }
    sent: list[tuple[int, int]] = []  # (PDU type, system scalars asked) of the later polls
    async with SnmpEngine() as engine:
        request = engine._request

        async def spy(target, pdu_type, oids, *args, **kwargs):  # type: ignore[no-untyped-def]
            sent.append((pdu_type, sum(o in carried for o in oids)))
            return await request(target, pdu_type, oids, *args, **kwargs)

        observations = [await probe_target("v1-agent", target, engine)]
        engine._request = spy  # type: ignore[method-assign]
        observations += [await probe_target("v1-agent", target, engine) for _ in range(2)]
    for obs in observations:
        assert obs.error is None, obs.message
        assert obs.sys_descr == ref[parse_oid(SYS_DESCR)].decode()
        assert obs.sys_object_id == ".".join(map(str, ref[parse_oid(SYS_OBJECT_ID)]))
        assert obs.sys_name == ""
        assert obs.uptime_source == "sysUpTime" and obs.uptime_ticks
    assert observations[1].uptime_ticks <= observations[2].uptime_ticks  # type: ignore[operator]
    if version == "1":
        assert {t for t, _ in sent} == {ber.GET, ber.GETNEXT}
    else:
        assert ber.GET not in {t for t, _ in sent}
        assert sum(n for _, n in sent) == 2 * 5  # each poll: the 5 system scalars, carried
