"""A steady poll asked where the last poll found the rows (predict.py), when the rows move.

Against the scripted agent of test_snmp_carry.py (RFC 3416 answers from a table written here):
a table that grows, one that loses and gains rows in the middle, an agent that answers fewer
varbinds than a GETNEXT asked, and one that says tooBig above a size. Every poll must read the
table the agent holds at that poll, whole; the expected rows are written here, not read back
from netwatch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from netwatch.collectors.snmp import ber, collector
from netwatch.collectors.snmp.agent import SimulatedAgent, Table
from netwatch.collectors.snmp.bulk import CARRY_RECOVERY
from netwatch.collectors.snmp.observation import SnmpObservation
from netwatch.collectors.snmp.types import OID, Kind, Value
from tests.collectors.snmp.test_snmp_carry import IF, OTHER, SYS, Scripted, nothing, poll_with

GETNEXT, GETBULK, GET = ber.GETNEXT, ber.GETBULK, ber.GET


def interfaces(indexes: Sequence[int], uptime: int = 4242) -> Table:
    """The system group and ifDescr/ifType/ifOperStatus/ifInOctets of these ifIndexes."""
    rows: dict[OID, Value] = {
        (*SYS, 1, 0): Value(Kind.OCTET_STRING, b"box"),
        (*SYS, 2, 0): Value(Kind.OBJECT_IDENTIFIER, OTHER),
        (*SYS, 3, 0): Value(Kind.TIMETICKS, uptime),
        (*SYS, 5, 0): Value(Kind.OCTET_STRING, b"b1"),
    }
    for i in indexes:
        rows[(*IF, 2, i)] = Value(Kind.OCTET_STRING, f"eth{i}".encode())
        rows[(*IF, 3, i)] = Value(Kind.INTEGER, 6)
        rows[(*IF, 8, i)] = Value(Kind.INTEGER, 1 + i % 2)
        rows[(*IF, 10, i)] = Value(Kind.COUNTER32, 1000 * i + 7)
    return Table(rows)


def assert_reads(obs: SnmpObservation, indexes: Sequence[int]) -> None:
    """The poll read exactly these interfaces, with the values interfaces() gives them."""
    assert obs.error is None and not obs.partial_errors, (obs.message, obs.partial_errors)
    assert (obs.sys_descr, obs.sys_name, obs.uptime_ticks) == ("box", "b1", 4242)
    got = [(i.index, i.descr, i.if_type, i.oper_status, i.in_octets) for i in obs.interfaces]
    assert got == [(i, f"eth{i}", 6, 1 + i % 2, 1000 * i + 7) for i in indexes]


def swap(script: Scripted, tab: Table) -> Callable[[], None]:
    def step() -> None:
        script.table = tab

    return step


@pytest.fixture(autouse=True)
def _fresh_stacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector, "_last_stack", {})
    monkeypatch.setattr(collector, "_selected", {})


async def test_a_table_that_grows_is_read_whole_with_one_more_request() -> None:
    script = Scripted(interfaces([1, 2, 3]))
    steps = [nothing, nothing, swap(script, interfaces([1, 2, 3, 4])), nothing]
    observations, asked, engine = await poll_with(script, steps, "if-mib")
    for obs, indexes in zip(
        observations, ([1, 2, 3], [1, 2, 3], [1, 2, 3, 4], [1, 2, 3, 4]), strict=True
    ):
        assert_reads(obs, indexes)
    assert asked[1] == [(GETNEXT, 0)]
    # Poll 3: the GETNEXT of row 3 answers row 4 (the 4 columns go on), then one GETBULK
    # of those 4 columns sees their ends. Poll 4 asks for the 4 rows: one GETNEXT again.
    assert asked[2] == [(GETNEXT, 0), (GETBULK, 0)]
    assert asked[3] == [(GETNEXT, 0)]
    assert len(script.log[-1].varbinds) == 5 + 4 * 5 + 12
    assert engine.stats.carry_declined == 0


async def test_rows_gone_and_added_in_the_middle_are_read_whole() -> None:
    # Row 2 goes and rows 4 and 5 come: the GETNEXT of row 1 answers row 3, not row 2 as
    # predicted: from row 3 on, the columns are walked on as before.
    script = Scripted(interfaces([1, 2, 3]))
    steps = [nothing, nothing, swap(script, interfaces([1, 3, 4, 5])), nothing]
    observations, asked, _ = await poll_with(script, steps, "if-mib")
    for obs, indexes in zip(
        observations, ([1, 2, 3], [1, 2, 3], [1, 3, 4, 5], [1, 3, 4, 5]), strict=True
    ):
        assert_reads(obs, indexes)
    assert asked[2][0] == (GETNEXT, 0) and len(asked[2]) > 1
    assert asked[3] == [(GETNEXT, 0)]


async def test_a_shrunk_table_ends_where_the_agent_says() -> None:
    script = Scripted(interfaces([1, 2, 3]))
    steps = [nothing, nothing, swap(script, interfaces([1])), nothing]
    observations, asked, _ = await poll_with(script, steps, "if-mib")
    for obs, indexes in zip(observations, ([1, 2, 3], [1, 2, 3], [1], [1]), strict=True):
        assert_reads(obs, indexes)
    # The GETNEXT of row 1 answers the next column: the column ended there, no more asked.
    assert asked[2] == asked[3] == [(GETNEXT, 0)]


class Capped(Scripted):
    """Answers at most `cap` varbinds: a GETBULK's first ones (RFC 3416 lets an agent send
    fewer repetitions, as net-snmp's maxGetbulkResponses does); to a GET or GETNEXT asking for
    more, the first ones too (short), or none with tooBig."""

    def __init__(self, tab: Table, cap: int, too_big: bool) -> None:
        super().__init__(tab)
        self.cap, self.too_big = cap, too_big

    def __call__(self, msg: ber.Message) -> list[bytes]:
        self.log.append(msg)
        varbinds = SimulatedAgent.answer(self.table, msg, 0.0)
        status = 0
        if len(varbinds) > self.cap:
            if self.too_big and msg.pdu_type != ber.GETBULK:
                status, varbinds = ber.TOO_BIG, []
            else:
                varbinds = varbinds[: self.cap]
        return [ber.encode_message(1, msg.community, ber.RESPONSE, msg.request_id, varbinds,
                                   status)]  # fmt: skip


@pytest.mark.parametrize("too_big", [False, True], ids=["short-answers", "too-big"])
async def test_an_agent_that_caps_its_answers_is_asked_the_old_way_for_a_while(
    too_big: bool,
) -> None:
    # 20 varbinds at most: the predicted GETNEXT (5 + 4 × 4 + 12 = 33) gets fewer answers than
    # it asked, or tooBig: declined, the poll asked the old way (GET, then GETBULKs answered
    # short), and so are the next CARRY_RECOVERY polls; then it is tried again.
    script = Capped(interfaces([1, 2, 3]), 20, too_big)
    polls = CARRY_RECOVERY + 3
    observations, asked, engine = await poll_with(script, [nothing] * polls, "if-mib")
    for obs in observations:  # every poll reads the table whole, whatever it cost
        assert_reads(obs, [1, 2, 3])
    assert asked[1][:2] == [(GETNEXT, 0), (GET, 0)]
    for pdus in asked[2 : 2 + CARRY_RECOVERY]:
        assert pdus[0] == (GET, 0) and set(pdus[1:]) == {(GETBULK, 0)}, pdus
    assert asked[2 + CARRY_RECOVERY][:2] == [(GETNEXT, 0), (GET, 0)]  # tried again: declined
    assert engine.stats.carry_declined == 2 and engine.stats.timeouts == 0


class DropsSecond(Scripted):
    """Never answers a GETNEXT of several varbinds that does not carry the system scalars."""

    def __call__(self, msg: ber.Message) -> list[bytes]:
        if msg.pdu_type == GETNEXT and len(msg.varbinds) > 1 and msg.varbinds[0][0] != (*SYS, 1):
            self.log.append(msg)
            return []
        return super().__call__(msg)


async def test_a_lost_request_of_several_declines_the_poll() -> None:
    # 30 interfaces: 4 columns × 31 + 12 empty ones = 136 varbinds, two GETNEXTs (at most 100
    # each); the second is lost (tried once): the poll is asked the old way, and read whole.
    indexes = list(range(1, 31))
    script = DropsSecond(interfaces(indexes))
    observations, asked, engine = await poll_with(script, [nothing] * 3, "if-mib")
    for obs in observations:
        assert_reads(obs, indexes)
    assert asked[1][:3] == [(GETNEXT, 0), (GETNEXT, 0), (GET, 0)]
    assert set(asked[1][3:]) == {(GETBULK, 0)} and asked[2][0] == (GET, 0)
    assert engine.stats.carry_declined == 1 and engine.stats.timeouts == 1
