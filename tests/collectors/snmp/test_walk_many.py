"""walk_many (several columns per GETBULK) against real agents, three ways.

The one-column walk (`walk`, one GETBULK chain per column) is the independent reference inside
netwatch; net-snmp's snmpbulkwalk/snmpwalk is the peer; for snmpsim the .snmprec recording is
the source of truth. The agent is a net-snmp snmpd in a namespace of the test's own making (its
interfaces are the test's veth pairs, nothing else changes them), one with net-snmp's default
GETBULK limit and one that answers short pages (maxGetbulkResponses 7).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from netwatch.collectors.snmp.collector import default_profiles, probe_target, walked_roots
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.types import OID, Kind, SnmpError, Target, Value, parse_oid
from tests.collectors.snmp.test_engine_snmpsim import expected_rows, plain
from tests.helpers.netns import Namespace, Netlab, requires_root
from tests.helpers.netsnmp import NETSNMP_FLAGS, parse_netsnmp
from tests.helpers.snmpd import Snmpd, running_snmpd
from tests.helpers.snmpsim import running_snmpsim

pytestmark = requires_root
Rows = list[tuple[OID, Value]]
# Values that move between two reads: counters and clocks (bracketed by net-snmp's reads before
# and after ours), and these columns whose INTEGER values follow the host (load, memory used).
MOVING_KINDS = {Kind.COUNTER32: 1 << 32, Kind.COUNTER64: 1 << 64, Kind.TIMETICKS: 1 << 32}
MOVING_ROOTS = [
    parse_oid(o)
    for o in ("1.3.6.1.2.1.25.3.3.1.2", "1.3.6.1.2.1.25.2.3.1.6", "1.3.6.1.4.1.2021.10.1.5")
]
EXTENDS = {"clients-wlan0": "4", "clients-wlan": "4", "frequency-wlan0": "2437", "hostname": "ap"}
IF_DESCR = parse_oid("1.3.6.1.2.1.2.2.1.2")


def linux_roots() -> tuple[OID, ...]:
    pset = default_profiles()
    return walked_roots(pset, pset.stack("linux"))


@pytest.fixture(scope="module")
def lab() -> Iterator[Namespace]:
    with Netlab(prefix="snmpfast") as netlab:
        ns = netlab.add("agent")
        # 18 interfaces besides lo: ifTable, ifXTable and hrStorage end at different rows.
        for i in range(9):
            ns.run("ip", "link", "add", f"wlan{i}", "type", "veth", "peer", "name", f"wp{i}")
            ns.run("ip", "link", "set", f"wlan{i}", "up")
        yield ns


@pytest.fixture(scope="module")
def agent(lab: Namespace) -> Iterator[Snmpd]:
    conf = [f"extend {name} /bin/echo {text}" for name, text in EXTENDS.items()]
    with running_snmpd(netns=lab.name, extra_conf=conf) as snmpd:
        yield snmpd


@pytest.fixture(scope="module")
def short_pages(lab: Namespace) -> Iterator[Snmpd]:
    with running_snmpd(netns=lab.name, extra_conf=["maxGetbulkResponses 7"]) as snmpd:
        yield snmpd


def in_ns(ns: Namespace, coro_fn, *args):  # type: ignore[no-untyped-def]
    return ns.call(asyncio.run, coro_fn(*args))


def peer_walk(agent: Snmpd, root: OID, version: str = "2c") -> list:
    tool = "snmpbulkwalk" if version == "2c" else "snmpwalk"
    args = ["-v2c", "-Cr25"] if version == "2c" else ["-v1"]
    out = agent.run_tool(tool, *NETSNMP_FLAGS, *args, "-c", "public",
                         f"{agent.host}:{agent.port}", ".".join(map(str, root)))  # fmt: skip
    return peer_rows(out, root)


def peer_rows(out: str, root: OID) -> list:
    """net-snmp's rows below root; its notes on an empty subtree or the MIB's end left out."""
    notes = ("No Such Object", "No Such Instance", "No more variables")
    kept = "\n".join(line for line in out.splitlines() if not any(n in line for n in notes))
    return [r for r in parse_netsnmp(kept) if r[0][: len(root)] == root]


def assert_same(root: OID, ours: Rows, before: list, after: list) -> None:
    """Same OIDs and kinds as net-snmp; static values equal, moving ones bracketed."""
    assert [o for o, _ in ours] == [o for o, _, _ in before] == [o for o, _, _ in after], root
    moving = any(root[: len(m)] == m for m in MOVING_ROOTS)
    for (oid, value), (_, k1, v1), (_, k2, v2) in zip(ours, before, after, strict=True):
        assert value.kind == k1 == k2, oid
        if value.kind in MOVING_KINDS:
            wrap = MOVING_KINDS[value.kind]
            assert (value.value - v1) % wrap <= (v2 - v1) % wrap, oid
        elif not moving:
            assert value.value == v1 == v2, oid


async def both_ways(
    target: Target, roots: Sequence[OID], max_rows: int = 100_000
) -> tuple[dict[OID, Rows], list[dict], list[int]]:
    """One-column walks, then walk_many twice (no hint, then the learned hint): PDUs each."""
    async with SnmpEngine() as engine:
        single: dict[OID, Rows] = {}
        await engine.get(target, [(1, 3, 6, 1, 2, 1, 1, 3, 0)])  # the socket is open
        sent = [engine.stats.sent]
        for root in roots:
            single[root] = await engine.walk(target, root, max_rows=max_rows)
        sent.append(engine.stats.sent)
        many = []
        for _ in range(2):
            many.append(await engine.walk_many(target, roots, max_rows=max_rows))
            sent.append(engine.stats.sent)
    return single, many, [b - a for a, b in itertools.pairwise(sent)]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("which", ["agent", "short_pages"])
def test_linux_profile_columns_match_single_walks_and_snmpbulkwalk(
    request: pytest.FixtureRequest, lab: Namespace, which: str
) -> None:
    agent: Snmpd = request.getfixturevalue(which)
    roots = linux_roots()
    assert len(roots) >= 20  # IF-MIB, host resources, UCD load, NET-SNMP-EXTEND
    before = {r: peer_walk(agent, r) for r in roots}
    target = Target(agent.host, agent.port, timeout=2, retries=1)
    single, many, pdus = in_ns(lab, both_ways, target, roots)
    after = {r: peer_walk(agent, r) for r in roots}
    for root in roots:
        assert_same(root, single[root], before[root], after[root])
        for result in many:
            rows = result[root]
            assert not isinstance(rows, SnmpError), rows
            assert_same(root, rows, before[root], after[root])
    lengths = {len(single[r]) for r in roots}
    assert len(lengths) >= 3, lengths  # columns that end at different rows share requests
    assert len(single[IF_DESCR]) == 19  # lo and both ends of 9 veth pairs
    if which == "agent":
        # One GETBULK per column (at least) before; after, 100 varbinds a request: the 16
        # interface columns of 19 rows (+1 to see each end) need 4, the rest fits in one.
        assert pdus[0] >= len(roots)
        assert pdus[2] <= 5, pdus
    else:
        # 7 varbinds per answer: more pages, the same rows.
        assert pdus[2] > 10, pdus


@pytest.mark.timeout(120)
def test_v1_getnext_of_several_columns_matches_snmpwalk(agent: Snmpd, lab: Namespace) -> None:
    roots = linux_roots()
    before = {r: peer_walk(agent, r, "1") for r in roots}
    target = Target(agent.host, agent.port, version="1", timeout=2, retries=1)
    single, many, pdus = in_ns(lab, both_ways, target, roots)
    after = {r: peer_walk(agent, r, "1") for r in roots}
    for root in roots:
        assert_same(root, single[root], before[root], after[root])
        assert_same(root, many[1][root], before[root], after[root])  # type: ignore[arg-type]
    # v1 has no Counter64: snmpwalk -v1 skips ifHC* rows as our walks do.
    assert not any(v.kind == Kind.COUNTER64 for rows in single.values() for _, v in rows)
    assert pdus[1] < pdus[0] / 3, pdus  # one GETNEXT per row of many columns, not per column


@pytest.mark.timeout(60)
def test_bulk_varbinds_zero_walks_a_column_at_a_time(agent: Snmpd, lab: Namespace) -> None:
    roots = linux_roots()
    target = Target(agent.host, agent.port, timeout=2, retries=1, bulk_varbinds=0)
    single, many, pdus = in_ns(lab, both_ways, target, roots)
    assert pdus[0] == pdus[1] == pdus[2]
    assert [o for o, _ in many[1][IF_DESCR]] == [o for o, _ in single[IF_DESCR]]  # type: ignore[union-attr]


@pytest.mark.timeout(60)
def test_max_rows_and_a_failing_root_stay_per_column(agent: Snmpd, lab: Namespace) -> None:
    roots = [*linux_roots()[:6], (3, 1)]  # 3.1 cannot be encoded: only that column fails
    target = Target(agent.host, agent.port, timeout=2, retries=1)

    async def run() -> tuple[dict, dict]:
        async with SnmpEngine() as engine:
            single = {r: await engine.walk(target, r, max_rows=3) for r in roots[:-1]}
            return single, await engine.walk_many(target, roots, max_rows=3)

    single, many = in_ns(lab, run)
    err = many[(3, 1)]
    assert isinstance(err, SnmpError) and err.reason == "protocol"
    for root in roots[:-1]:
        assert [o for o, _ in many[root]] == [o for o, _ in single[root]], root
        assert len(many[root]) <= 3


@pytest.mark.timeout(120)
def test_collector_polls_the_same_with_and_without_shared_requests(
    agent: Snmpd, lab: Namespace
) -> None:
    async def run(budget: int):  # type: ignore[no-untyped-def]
        target = Target(agent.host, agent.port, timeout=2, retries=1, bulk_varbinds=budget)
        async with SnmpEngine() as engine:
            await probe_target("ap", target, engine, None, "linux")
            sent = engine.stats.sent
            obs = await probe_target("ap", target, engine, None, "linux")
            return obs, engine.stats.sent - sent

    old, old_pdus = in_ns(lab, run, 0)
    new, new_pdus = in_ns(lab, run, 100)
    assert old.error is None and new.error is None, (old.message, new.message)
    assert not old.partial_errors and not new.partial_errors
    key = [(i.index, i.name, i.descr, i.if_type, i.admin_status, i.oper_status, i.radio)
           for i in old.interfaces]  # fmt: skip
    assert key == [(i.index, i.name, i.descr, i.if_type, i.admin_status, i.oper_status, i.radio)
                   for i in new.interfaces]  # fmt: skip
    assert len(key) == 19
    assert [(s.labels, s.value) for s in old.wifi_clients] == [
        (s.labels, s.value) for s in new.wifi_clients
    ]
    assert sorted((s.metric, s.labels) for s in old.samples) == sorted(
        (s.metric, s.labels) for s in new.samples
    )
    assert new_pdus <= 6 and old_pdus >= 25  # GET + 5 shared walks; GET + a walk per column


@pytest.mark.timeout(120)
def test_the_system_scalars_ride_in_the_walk_and_read_what_snmpget_reads(
    agent: Snmpd, lab: Namespace
) -> None:
    from netwatch.collectors.snmp import ber, collector

    sys_oids = [f"1.3.6.1.2.1.1.{i}.0" for i in (1, 2, 5)]

    def snmpget(*oids: str) -> dict[OID, object]:
        out = agent.run_tool("snmpget", *NETSNMP_FLAGS, "-v2c", "-c", "public",
                             f"{agent.host}:{agent.port}", *oids)  # fmt: skip
        return {oid: value for oid, _, value in parse_netsnmp(out)}

    async def run(carry: bool):  # type: ignore[no-untyped-def]
        collector._last_stack.clear()
        target = Target(agent.host, agent.port, timeout=2, retries=1)
        async with SnmpEngine() as engine:
            if not carry:
                engine.get_and_walk = None  # type: ignore[assignment,method-assign]
            sent: list[tuple[int, int]] = []
            request = engine._request

            async def spy(target, pdu_type, oids, *args, **kwargs):  # type: ignore[no-untyped-def]
                sent.append((pdu_type, kwargs.get("non_repeaters", 0)))
                return await request(target, pdu_type, oids, *args, **kwargs)

            engine._request = spy  # type: ignore[method-assign]
            await probe_target("ap", target, engine, None, "linux")
            sent.clear()
            return await probe_target("ap", target, engine, None, "linux"), sent

    ref = snmpget(*sys_oids, "1.3.6.1.2.1.1.3.0")
    old, old_pdus = in_ns(lab, run, False)
    new, new_pdus = in_ns(lab, run, True)
    up_after = snmpget("1.3.6.1.2.1.1.3.0")[parse_oid("1.3.6.1.2.1.1.3.0")]
    for obs in (old, new):
        assert obs.error is None and not obs.partial_errors, obs.message
        assert obs.sys_descr == ref[parse_oid(sys_oids[0])].decode()  # type: ignore[attr-defined]
        assert obs.sys_object_id == ".".join(map(str, ref[parse_oid(sys_oids[1])]))  # type: ignore[call-overload]
        assert obs.sys_name == ref[parse_oid(sys_oids[2])].decode()  # type: ignore[attr-defined]
        assert obs.uptime_source == "sysUpTime"
        assert ref[parse_oid("1.3.6.1.2.1.1.3.0")] <= obs.uptime_ticks <= up_after  # type: ignore[operator]
    assert [(i.index, i.descr) for i in old.interfaces] == [
        (i.index, i.descr) for i in new.interfaces
    ]
    assert len(new.interfaces) == 19
    assert sorted((s.metric, s.labels) for s in old.samples) == sorted(
        (s.metric, s.labels) for s in new.samples
    )
    # The system GET rides in the first request (5 system scalars; linux has none), and the
    # columns are asked where the last poll found their rows: GETNEXTs, fewer requests.
    assert old_pdus[0] == (ber.GET, 0) and new_pdus[0] == (ber.GETNEXT, 0)
    assert len(new_pdus) < len(old_pdus) - 1 and ber.GET not in {t for t, _ in new_pdus}


# ---- snmpsim: real devices' recordings -------------------------------------------------

RECORDINGS = ["routeros", "linux_ntc", "ios_2960x", "vrp_5720", "airos_airos8", "smartax",
              "zxa10_c320", "junos_mx5t-isis", "epmp"]  # fmt: skip


def every_profile_root() -> list[OID]:
    pset = default_profiles()
    roots: dict[OID, None] = {}
    for name in sorted(pset.profiles):
        roots.update(dict.fromkeys(walked_roots(pset, pset.stack(name))))
    return list(roots)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", RECORDINGS)
async def test_recordings_every_profile_column_matches_the_file_and_single_walks(
    snmpsim: tuple[str, int], snmprec: Path, name: str
) -> None:
    host, port = snmpsim
    roots = every_profile_root()
    target = Target(host, port, community=name, timeout=5, retries=1)
    single, many, pdus = await both_ways(target, roots)
    recorded = expected_rows(snmprec / f"{name}.snmprec")
    found = 0
    for root in roots:
        assert plain(many[0][root]) == plain(many[1][root]) == plain(single[root]), root  # type: ignore[arg-type]
        found += bool(single[root])
        if name != "zxa10_c320":  # snmpsim follows its file order there (HOWTO gotcha 3)
            assert plain(single[root]) == [r for r in recorded if r[0][: len(root)] == root]
    assert found >= 10
    assert pdus[2] < pdus[0] / 3, pdus


@pytest.mark.timeout(60)
async def test_recording_matches_snmpbulkwalk(snmpsim: tuple[str, int]) -> None:
    host, port = snmpsim
    roots = every_profile_root()
    async with SnmpEngine() as engine:
        many = await engine.walk_many(Target(host, port, community="routeros", timeout=5), roots)
    seen = 0
    for root in roots[:40]:
        proc = await asyncio.create_subprocess_exec(
            "snmpbulkwalk", *NETSNMP_FLAGS, "-v2c", "-Cr25", "-c", "routeros", f"{host}:{port}",
            ".".join(map(str, root)), stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await proc.communicate()
        peer = peer_rows(out.decode(), root)
        assert plain(many[root]) == [(o, int(k), v) for o, k, v in peer], root  # type: ignore[arg-type]
        seen += len(peer)
    assert seen > 50


BIG = parse_oid("1.3.6.1.4.1.99999.2")


def two_big_columns(data: Path) -> None:
    # Two columns of 20 values of 4000 bytes: the first shared answer (~160 KB) exceeds UDP
    # and snmpsim drops it; so does a lone column's full page (~84 KB).
    lines = [f"{'.'.join(map(str, BIG))}.{col}.{i}|4x|{(bytes([col * 40 + i]) * 4000).hex()}"
             for col in (1, 2) for i in range(1, 21)]  # fmt: skip
    (data / "twobig.snmprec").write_text("1.3.6.1.2.1.1.3.0|67|100\n" + "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def big_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    only = tmp_path_factory.mktemp("twobig")
    with running_snmpsim(only, transform=two_big_columns, probe_community="twobig") as ep:
        yield ep


@pytest.mark.timeout(120)
async def test_answers_too_big_for_udp_split_the_columns_then_the_rows(
    big_agent: tuple[str, int],
) -> None:
    host, port = big_agent
    roots = [(*BIG, 1), (*BIG, 2)]
    expected = {
        root: [((*root, i), Kind.OCTET_STRING, bytes([root[-1] * 40 + i]) * 4000)
               for i in range(1, 21)]
        for root in roots
    }  # fmt: skip
    async with SnmpEngine() as engine:
        target = Target(host, port, community="twobig", timeout=0.5, max_repetitions=25)
        first = await engine.walk_many(target, roots)
        reductions, timeouts = engine.stats.repetition_reductions, engine.stats.timeouts
        assert reductions >= 2 and timeouts >= 2  # fewer columns, then fewer rows
        second = await engine.walk_many(target, roots)
        # What worked is remembered: the next poll pays no timeout.
        assert engine.stats.timeouts == timeouts
    for result in (first, second):
        for root in roots:
            assert [(o, v.kind, v.value) for o, v in result[root]] == expected[root]  # type: ignore[union-attr]


# mikrotik-routeros's scalars (configs/profiles/mikrotik-routeros.yaml `get:`), by metric.
ROUTEROS_SCALARS = {
    "1.3.6.1.4.1.14988.1.1.6.1.0": "dhcp_leases",
    "1.3.6.1.4.1.14988.1.1.3.10.0": "temperature_celsius",
    "1.3.6.1.4.1.14988.1.1.3.8.0": "voltage_volts",
    "1.3.6.1.4.1.14988.1.1.3.15.0": "power_supply_up",
    "1.3.6.1.4.1.14988.1.1.3.16.0": "power_supply_up",
    "1.3.6.1.4.1.14988.1.1.3.17.0": "fan_speed_rpm",
    "1.3.6.1.4.1.14988.1.1.3.18.0": "fan_speed_rpm",
}


@pytest.mark.timeout(60)
async def test_vendor_scalars_ride_in_the_first_request_from_the_second_poll(
    snmpsim: tuple[str, int], snmprec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netwatch.collectors.snmp import ber, collector

    monkeypatch.setattr(collector, "_last_stack", {})  # other tests polled this agent too
    host, port = snmpsim
    target = Target(host, port, community="routeros", timeout=5, retries=1)
    recorded = {oid: (code, value) for oid, code, value in expected_rows(
        snmprec / "routeros.snmprec")}  # fmt: skip
    # Each scalar x.0 rides as the GETNEXT of x: the 5 system ones and the profile's 7.
    system = ("1.3.6.1.2.1.1.1", "1.3.6.1.2.1.1.2", "1.3.6.1.2.1.1.3", "1.3.6.1.2.1.1.5",
              "1.3.6.1.2.1.25.1.1")  # fmt: skip
    carried = {parse_oid(o) for o in system} | {parse_oid(o)[:-1] for o in ROUTEROS_SCALARS}
    async with SnmpEngine() as engine:
        sent: list[tuple[int, int]] = []  # (PDU type, scalars carried)
        request = engine._request

        async def spy(target, pdu_type, oids, *args, **kwargs):  # type: ignore[no-untyped-def]
            sent.append((pdu_type, sum(o in carried for o in oids)))
            return await request(target, pdu_type, oids, *args, **kwargs)

        engine._request = spy  # type: ignore[method-assign]
        first = await probe_target("mt", target, engine)
        firsts = list(sent)
        sent.clear()
        second = await probe_target("mt", target, engine)
        seconds = list(sent)
    assert first.error is None and second.error is None, (first.message, second.message)
    assert first.profiles[-1] == second.profiles[-1] == "mikrotik-routeros"
    # First poll: the system GET, then the profile's; from the second, no GET: the 5 system
    # scalars and the profile's 7 ride in the walk's first request (a GETNEXT: predict.py).
    assert [t for t, _ in firsts].count(ber.GET) == 2
    assert seconds[0] == (ber.GETNEXT, 5 + len(ROUTEROS_SCALARS))
    assert all(t != ber.GET and n == 0 for t, n in seconds[1:]), seconds
    assert first.samples == second.samples
    # The readings are the recording's: system objects, and a scalar the recording lacks
    # (asked by GETNEXT, answered with the next object) is missing as the GET found it.
    assert (second.sys_descr, second.sys_object_id) == ("router", "1.3.6.1.4.1.14988.1")
    assert second.uptime_ticks == recorded[parse_oid("1.3.6.1.2.1.1.3.0")][1]
    present = {m for o, m in ROUTEROS_SCALARS.items() if parse_oid(o) in recorded}
    absent = set(ROUTEROS_SCALARS.values()) - present
    assert absent, "the recording lacks some scalar: the test checks how that reads"
    metrics = {s.metric for s in second.samples}
    assert present <= metrics and not absent & metrics
    # mtxrHlVoltage 1.3.6.1.4.1.14988.1.1.3.8.0, in dV.
    volts = [s.value for s in second.samples if s.metric == "voltage_volts"]
    assert volts == [recorded[parse_oid("1.3.6.1.4.1.14988.1.1.3.8.0")][1] * 0.1]


async def test_too_big_status_halves_the_shared_request_and_is_remembered() -> None:
    # No agent here answers tooBig to a GETBULK (net-snmp truncates; snmpsim drops): a scripted
    # responder does, above 20 varbinds, and otherwise answers as RFC 3416 §4.2.3 says.
    from netwatch.collectors.snmp import ber
    from netwatch.collectors.snmp.agent import SimulatedAgent, Table
    from tests.collectors.snmp.fake_agent import start_fake_agent

    base = (1, 3, 6, 1, 2, 1, 2, 2, 1)
    rows = {(*base, 2, i): Value(Kind.OCTET_STRING, f"eth{i}".encode()) for i in range(1, 13)}
    rows |= {(*base, 8, i): Value(Kind.INTEGER, 1 + i % 2) for i in range(1, 13)}
    table = Table(rows)

    def script(msg: ber.Message) -> list[bytes]:
        status, varbinds = 0, SimulatedAgent.answer(table, msg, 0.0)
        if msg.pdu_type == ber.GETBULK and len(msg.varbinds) * msg.error_index > 20:
            status, varbinds = ber.TOO_BIG, []
        return [ber.encode_message(1, msg.community, ber.RESPONSE, msg.request_id, varbinds,
                                   status)]  # fmt: skip

    agent, port = await start_fake_agent(script)
    roots = [(*base, 2), (*base, 8)]
    try:
        async with SnmpEngine() as engine:
            target = Target("127.0.0.1", port, timeout=1, max_repetitions=25)
            first = await engine.walk_many(target, roots)
            asked = [len(m.varbinds) * m.error_index for _, m in agent.requests]
            # Both columns (2 × 25), then each alone (25 rows each), then 12 rows each.
            assert asked[:3] == [50, 25, 25] and max(asked[3:]) <= 20, asked
            assert engine.stats.repetition_reductions == 3
            agent.requests.clear()
            second = await engine.walk_many(target, roots)
            asked = [len(m.varbinds) * m.error_index for _, m in agent.requests]
            assert max(asked) <= 20, asked  # what worked is where the next poll starts
    finally:
        agent.transport.close()  # type: ignore[union-attr]
    for result in (first, second):
        for root in roots:
            assert result[root] == sorted((o, v) for o, v in rows.items() if o[:10] == root)


def _lossy_agent_rows() -> tuple[list[OID], dict[OID, Value]]:
    base = (1, 3, 6, 1, 2, 1, 2, 2, 1)
    rows = {(*base, 2, i): Value(Kind.OCTET_STRING, f"eth{i}".encode()) for i in range(1, 13)}
    rows |= {(*base, 8, i): Value(Kind.INTEGER, 1 + i % 2) for i in range(1, 13)}
    return [(*base, 2), (*base, 8)], rows


async def _polls_of_a_lossy_agent(
    drop: Callable[[int], bool], polls: int
) -> tuple[list[list[int]], list[int], list[object], list[object]]:
    """walk_many `polls` times against a scripted agent (answers as RFC 3416 §4.2.3 says) that
    answers no GETBULK for which drop(varbinds asked) holds: the varbinds each request asked
    (columns × max-repetitions), the timeouts and the results of each poll, and the budget cut
    remembered after each."""
    from netwatch.collectors.snmp import ber
    from netwatch.collectors.snmp.agent import SimulatedAgent, Table
    from tests.collectors.snmp.fake_agent import start_fake_agent

    roots, rows = _lossy_agent_rows()
    table = Table(rows)

    def script(msg: ber.Message) -> list[bytes]:
        if msg.pdu_type == ber.GETBULK and drop(len(msg.varbinds) * msg.error_index):
            return []
        varbinds = SimulatedAgent.answer(table, msg, 0.0)
        return [ber.encode_message(1, msg.community, ber.RESPONSE, msg.request_id, varbinds)]

    agent, port = await start_fake_agent(script)
    asked: list[list[int]] = []
    timeouts: list[int] = []
    results: list[object] = []
    caps: list[object] = []
    try:
        async with SnmpEngine() as engine:
            # bulk_varbinds 100, max-repetitions 25: the defaults (SnmpSettings)
            target = Target("127.0.0.1", port, timeout=0.2, retries=1)
            for _ in range(polls):
                agent.requests.clear()
                before = engine.stats.timeouts
                results.append(await engine.walk_many(target, roots))
                asked.append([len(m.varbinds) * m.error_index for _, m in agent.requests])
                timeouts.append(engine.stats.timeouts - before)
                caps.append(engine._state(("127.0.0.1", port)).bulk_cap)
    finally:
        agent.transport.close()  # type: ignore[union-attr]
    for result in results:  # every poll read the table whole, whatever it cost
        for root in roots:
            assert result[root] == sorted((o, v) for o, v in rows.items() if o[:10] == root)  # type: ignore[index]
    return asked, timeouts, results, caps


async def test_an_answer_lost_once_does_not_shrink_the_requests_for_long() -> None:
    # An agent too busy to answer in time (one snmpd serving a 50,000-device bench's first
    # polls, or our own loop held) loses an answer of any size, once: the shared request is
    # cut as for a too big answer, kept for one clean poll, then asked at full size again and
    # forgotten (before: kept for 16 polls, then doubled every 16: hours at a 60 s interval).
    lost: list[int] = []

    def once(varbinds: int) -> bool:
        if not lost:
            lost.append(varbinds)
            return True
        return False

    asked, timeouts, _, caps = await _polls_of_a_lossy_agent(once, 4)
    # Poll 1: both columns × 25 rows (lost), then at half the budget: each column alone.
    assert asked[0] == [50, 25, 25] and timeouts[0] == 1
    # Poll 2: 12 rows each last time, so 13 asked: 26 varbinds pass the cut of 25.
    assert asked[1] == [13, 13] and timeouts[1] == 0 and caps[1] == (25, 1)
    # Poll 3 asks at full size again: one request; the cut is gone.
    assert asked[2] == [26] and timeouts[2] == 0 and caps[2] is None
    assert asked[3] == [26] and timeouts[3] == 0 and caps[3] is None


async def test_answers_too_big_to_arrive_are_asked_at_full_size_once_more_then_kept() -> None:
    # An agent (or a path) that never delivers an answer to more than 20 varbinds: the cut
    # made by lost answers is checked once at full size (one more timeout, straight back to
    # the cut), then kept as a tooBig cut is (no timeout in the polls after it).
    asked, timeouts, _, caps = await _polls_of_a_lossy_agent(lambda varbinds: varbinds > 20, 6)
    assert timeouts[0] >= 2  # 50, then 25 lost
    assert timeouts[1] == 0 and max(asked[1]) <= 20
    assert asked[2][0] == 26 and timeouts[2] == 1 and max(asked[2][1:]) <= 20
    assert timeouts[3:] == [0, 0, 0] and all(max(a) <= 20 for a in asked[3:])
    # The same cut as before the check, kept: three clean polls counted toward its recovery.
    assert caps[1] == (caps[2][0], 1) and caps[5] == (caps[2][0], 3)  # type: ignore[index]


async def test_an_agent_answering_column_by_column_is_never_read_crosswise() -> None:
    # Some embedded agents answer several repeaters column by column (all rows of the first,
    # then the second): read row by row that would end columns early, silently. Scripted, as
    # no agent here does it.
    from netwatch.collectors.snmp import ber
    from netwatch.collectors.snmp.agent import Table
    from tests.collectors.snmp.fake_agent import start_fake_agent

    base = (1, 3, 6, 1, 2, 1, 2, 2, 1)
    rows = {(*base, col, i): Value(Kind.INTEGER, col * 100 + i)
            for col in (3, 5, 8) for i in range(1, 6)}  # fmt: skip
    table = Table(rows)

    def script(msg: ber.Message) -> list[bytes]:
        out: list[tuple[OID, Value]] = []
        for oid, _ in msg.varbinds[msg.error_status :] if msg.pdu_type == ber.GETBULK else []:
            for _ in range(msg.error_index):
                oid, value = table.next(oid, 0.0)
                out.append((oid, value))
        if msg.pdu_type != ber.GETBULK:
            out = [table.next(oid, 0.0) for oid, _ in msg.varbinds]
        return [ber.encode_message(1, msg.community, ber.RESPONSE, msg.request_id, out)]

    agent, port = await start_fake_agent(script)
    roots = [(*base, 3), (*base, 5), (*base, 8)]
    try:
        async with SnmpEngine() as engine:
            target = Target("127.0.0.1", port, timeout=1)
            first = await engine.walk_many(target, roots)
            assert engine.stats.bulk_fallbacks == 1
            agent.requests.clear()
            second = await engine.walk_many(target, roots)
            assert all(len(m.varbinds) == 1 for _, m in agent.requests)  # one column a request
    finally:
        agent.transport.close()  # type: ignore[union-attr]
    for result in (first, second):
        for root in roots:
            assert result[root] == sorted((o, v) for o, v in rows.items() if o[:10] == root)


def test_a_new_column_starts_as_a_new_walker() -> None:
    # Column sets Walker's fields itself (no super().__init__): every field a Walker has must
    # start the same, or the shared walk would not be the one-column walk it is compared with.
    from netwatch.collectors.snmp.bulk import Column
    from netwatch.collectors.snmp.walk import Walker

    root = [1, 3, 6, 1, 2, 1, 2, 2, 1, 2]  # any sequence of sub-ids, as Walker takes
    column, walker = Column(root, 7, 3), Walker(root, 7)
    assert {f: getattr(column, f) for f in Walker.__slots__} == {
        f: getattr(walker, f) for f in Walker.__slots__
    }
    assert column.root == (1, 3, 6, 1, 2, 1, 2, 2, 1, 2) and column.rows is not walker.rows
    assert (column.expect, column.error) == (3, None)


def test_batches_group_columns_by_rows_expected_within_the_budget() -> None:
    # Worked by hand: wants are expect + 1 (max_reps when unknown), taken fewest first (ties
    # in the given order); a group closes when its widest want × (columns + 1) passes the
    # budget, and a group's repetitions are cut to budget // columns.
    from netwatch.collectors.snmp.bulk import Column, batches

    expects = [0, 3, -1, 1, 3]  # wants 1, 4, 25, 2, 4
    c = [Column((1, 3, 6, 1, 9, i), 1000, e) for i, e in enumerate(expects)]
    assert batches(c, 25, 12) == [([c[0], c[3], c[1]], 4), ([c[4]], 4), ([c[2]], 12)]
