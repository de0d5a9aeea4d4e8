"""The system scalars riding in a poll's first walk request (engine.get_and_walk), and from the
second poll every column asked where the last poll found its rows (predict.py: one GETNEXT).

Against a scripted agent that answers as RFC 3416 §4.2.3 says (the demo agent's table: a
non-repeater is a GETNEXT, each repeater row a GETNEXT of the row before), so that the tests
can lose, change or stop its answers; the expected values are the table's, written here.
The real agents' side (snmpd, snmpsim recordings) is in test_walk_many.py, and v1 and an agent
whose view lacks sysName in test_v1_partial_system.py.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from netwatch.collectors.snmp import ber, collector
from netwatch.collectors.snmp.agent import SimulatedAgent, Table
from netwatch.collectors.snmp.bulk import CARRY_RECOVERY
from netwatch.collectors.snmp.collector import probe_target
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.observation import SnmpObservation
from netwatch.collectors.snmp.types import OID, Kind, Target, Value
from tests.collectors.snmp.fake_agent import FakeAgent, start_fake_agent

SYS = (1, 3, 6, 1, 2, 1, 1)
IF = (1, 3, 6, 1, 2, 1, 2, 2, 1)
LINUX = (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10)  # net-snmp's Linux sysObjectID: the linux profile
OTHER = (1, 3, 6, 1, 4, 1, 99999, 1)  # nobody's: the generic profile


def table(sys_object_id: OID, uptime: int, cpus: int = 0) -> Table:
    rows: dict[OID, Value] = {
        (*SYS, 1, 0): Value(Kind.OCTET_STRING, b"box"),
        (*SYS, 2, 0): Value(Kind.OBJECT_IDENTIFIER, sys_object_id),
        (*SYS, 3, 0): Value(Kind.TIMETICKS, uptime),
        (*SYS, 5, 0): Value(Kind.OCTET_STRING, b"b1"),
        # no hrSystemUptime (1.3.6.1.2.1.25.1.1.0): GETNEXT of it answers what follows
    }
    for i, name in ((1, b"lo"), (2, b"eth0"), (3, b"eth1")):
        rows[(*IF, 2, i)] = Value(Kind.OCTET_STRING, name)
        rows[(*IF, 3, i)] = Value(Kind.INTEGER, 24 if i == 1 else 6)
        rows[(*IF, 8, i)] = Value(Kind.INTEGER, 1)
        rows[(*IF, 10, i)] = Value(Kind.COUNTER32, 1000 * i)
    for i in range(1, cpus + 1):  # hrProcessorLoad, 7 % each
        rows[(1, 3, 6, 1, 2, 1, 25, 3, 3, 1, 2, i)] = Value(Kind.INTEGER, 7)
    return Table(rows)


class Scripted:
    """The agent's answers, with switches: drop carrying requests, go silent, swap the table."""

    def __init__(self, tab: Table) -> None:
        self.table = tab
        self.drop_carrying = False
        self.silent = False
        self.log: list[ber.Message] = []

    def __call__(self, msg: ber.Message) -> list[bytes]:
        self.log.append(msg)
        carrying = (msg.pdu_type == ber.GETBULK and msg.error_status > 0) or (  # non-repeaters
            msg.pdu_type == ber.GETNEXT and msg.varbinds[0][0] == (*SYS, 1)  # predict.py's
        )
        if self.silent or (carrying and self.drop_carrying):
            return []
        varbinds = SimulatedAgent.answer(self.table, msg, 0.0)
        return [ber.encode_message(1, msg.community, ber.RESPONSE, msg.request_id, varbinds)]


def requests(agent: FakeAgent) -> list[tuple[int, int]]:
    """(PDU type, non-repeaters) of each request the agent got; non-repeaters 0 unless GETBULK."""
    return [(m.pdu_type, m.error_status if m.pdu_type == ber.GETBULK else 0)
            for _, m in agent.requests]  # fmt: skip


def assert_table_read(obs: SnmpObservation, uptime: int) -> None:
    assert obs.error is None, obs.message
    assert (obs.sys_descr, obs.sys_name) == ("box", "b1")
    assert (obs.uptime_ticks, obs.uptime_source) == (uptime, "sysUpTime")
    got = [(i.index, i.descr, i.if_type, i.oper_status, i.in_octets) for i in obs.interfaces]
    assert got == [(1, "lo", 24, 1, 1000), (2, "eth0", 6, 1, 2000), (3, "eth1", 6, 1, 3000)]


@pytest.fixture(autouse=True)
def _fresh_stacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector, "_last_stack", {})
    monkeypatch.setattr(collector, "_selected", {})


async def poll_with(
    script: Scripted, steps: list[Callable[[], None]], profile: str | None = None
) -> tuple[list[SnmpObservation], list[list[tuple[int, int]]], SnmpEngine]:
    """One poll per step (the step first sets the agent up): observations and requests."""
    agent, port = await start_fake_agent(script)
    target = Target("127.0.0.1", port, timeout=0.3, retries=1)
    observations, asked = [], []
    try:
        async with SnmpEngine() as engine:
            for step in steps:
                step()
                agent.requests.clear()
                observations.append(await probe_target("b1", target, engine, None, profile))
                asked.append(requests(agent))
    finally:
        agent.transport.close()  # type: ignore[union-attr]
    return observations, asked, engine


def nothing() -> None:
    pass


# A poll with the if-mib stack (16 columns, 4 of them with 3 rows here): from the second poll
# on, the rows hint makes the walk one GETBULK (16 × 4 varbinds); the old pattern is a GET
# before it.
OLD = [(ber.GET, 0), (ber.GETBULK, 0)]
# From the second poll: one GETNEXT, the five system scalars (sysDescr, sysObjectID, sysUpTime,
# sysName, hrSystemUptime) first, then each column's root and each row the last poll found.
PREDICTED = [(ber.GETNEXT, 0)]


def last_getnext(script: Scripted) -> ber.Message:
    return next(m for m in reversed(script.log) if m.pdu_type == ber.GETNEXT)


async def test_from_the_second_poll_the_system_get_rides_in_the_walk() -> None:
    script = Scripted(table(OTHER, 4242))
    observations, asked, engine = await poll_with(script, [nothing] * 3, "if-mib")
    for obs in observations:
        assert_table_read(obs, 4242)
    assert asked[0][0] == (ber.GET, 0)  # the first poll: the system GET, then the walk
    assert asked[1] == asked[2] == PREDICTED
    # 5 scalars; 4 columns of 3 rows: 4 GETNEXTs each (the root, each row: the last one shows
    # the end); the 12 empty columns: their root alone.
    sent = last_getnext(script)
    assert len(sent.varbinds) == 5 + 4 * 4 + 12
    assert [o for o, _ in sent.varbinds[5:9]] == [(*IF, 2), (*IF, 2, 1), (*IF, 2, 2), (*IF, 2, 3)]
    assert engine.stats.carry_declined == 0 and engine.stats.timeouts == 0


async def test_a_poll_that_needed_two_getbulks_is_one_getnext() -> None:
    # No profile given: generic's stack, IF-MIB and HOST-RESOURCES. 20 processors: their
    # column (21 rows asked) did not share a GETBULK with the 20 others (4 rows each, 80
    # varbinds): two GETBULKs a poll. Asked where the rows were, each column asks for its own
    # rows + 1: 5 scalars + 4 × 4 + 12 empty IF-MIB columns + 21 + 4 empty hrStorage columns.
    script = Scripted(table(OTHER, 4242, cpus=20))
    observations, asked, _ = await poll_with(script, [nothing] * 3)
    for obs in observations:
        assert_table_read(obs, 4242)
        assert obs.profiles[-1] == "generic" and obs.cpu_load_ratio == pytest.approx(0.07)
    for pdus in asked[1:]:
        assert pdus == PREDICTED
    assert len(last_getnext(script).varbinds) == 5 + 4 * 4 + 12 + 21 + 4


async def test_a_lost_carrying_request_falls_back_to_the_get_then_rides_again() -> None:
    script = Scripted(table(OTHER, 4242))

    def lose() -> None:
        script.drop_carrying = True

    def answer() -> None:
        script.drop_carrying = False

    steps = [nothing, lose] + [answer] * (CARRY_RECOVERY + 1)
    observations, asked, engine = await poll_with(script, steps, "if-mib")
    for obs in observations:  # every poll reads the table whole, whatever it cost
        assert_table_read(obs, 4242)
    # Poll 2: the carrying GETNEXT (tried once, lost), then the GET and the walk as before.
    assert asked[1] == [*PREDICTED, *OLD]
    assert engine.stats.carry_declined == 1 and engine.stats.timeouts == 1
    # The next CARRY_RECOVERY polls ask the old way, then the scalars ride again.
    assert asked[2:-1] == [OLD] * CARRY_RECOVERY
    assert asked[-1] == PREDICTED
    assert engine.stats.timeouts == 1


async def test_a_dead_agent_fails_the_poll_with_a_timeout() -> None:
    script = Scripted(table(OTHER, 4242))

    def die() -> None:
        script.silent = True

    observations, asked, _ = await poll_with(script, [nothing, die, nothing], "if-mib")
    assert_table_read(observations[0], 4242)
    for obs in observations[1:]:
        assert obs.error == "timeout" and not obs.interfaces
    # Dead at poll 2: the carrying GETNEXT once, then the GET and its retry (one more
    # datagram than the old pattern's, once); poll 3 (paused): the GET and its retry.
    assert asked[1] == [*PREDICTED, (ber.GET, 0), (ber.GET, 0)]
    assert asked[2] == [(ber.GET, 0), (ber.GET, 0)]


async def test_a_changed_device_is_walked_with_its_new_stack() -> None:
    # The agent at the address is replaced (another sysObjectID): the walk that started with
    # the last poll's stack is not used; the new stack's columns are walked.
    script = Scripted(table(LINUX, 100))

    def replace() -> None:
        script.table = table(OTHER, 7)

    observations, asked, _ = await poll_with(script, [nothing, nothing, replace, nothing])
    assert [o.profiles[-1] for o in observations] == ["linux", "linux", "generic", "generic"]
    assert_table_read(observations[0], 100)
    assert_table_read(observations[2], 7)
    assert_table_read(observations[3], 7)
    assert asked[2][0] == (ber.GETNEXT, 0) and asked[3] == PREDICTED
    # The linux stack walks more columns than generic: after the carrying request, the poll of
    # the replaced agent walks generic's columns again (more requests than a clean poll).
    assert len(asked[2]) > len(asked[3])


async def test_a_stack_that_walks_nothing_keeps_its_get() -> None:
    # The system profile alone walks no column: there is no GETBULK to ride in.
    script = Scripted(table(OTHER, 4242))
    observations, asked, _ = await poll_with(script, [nothing] * 2, "system")
    for obs in observations:
        assert obs.error is None, obs.message
        assert (obs.sys_descr, obs.sys_name, obs.uptime_ticks) == ("box", "b1", 4242)
    assert asked == [[(ber.GET, 0)], [(ber.GET, 0)]]
