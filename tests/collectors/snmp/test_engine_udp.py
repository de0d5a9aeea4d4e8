"""Timeouts, retries and reply matching, against sockets the test controls."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest

from netwatch.collectors.snmp import ber
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.types import Kind, SnmpError, Target, Value
from tests.collectors.snmp.fake_agent import start_fake_agent

OID = (1, 3, 6, 1, 2, 1, 1, 5, 0)
NAME = Value(Kind.OCTET_STRING, b"desa-ap-01")


def reply(msg: ber.Message, *, request_id: int | None = None, value: Value = NAME) -> bytes:
    rid = msg.request_id if request_id is None else request_id
    return ber.encode_message(1, msg.community, ber.RESPONSE, rid, [(OID, value)])


async def test_silent_socket_times_out_after_retries() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    silent.setblocking(False)
    try:
        target = Target("127.0.0.1", silent.getsockname()[1], timeout=0.15, retries=2)
        async with SnmpEngine() as engine:
            start = time.monotonic()
            with pytest.raises(SnmpError) as err:
                await engine.get(target, [OID])
            elapsed = time.monotonic() - start
            assert engine.stats.sent == 3 and engine.stats.retries == 2
        assert err.value.reason == "timeout"
        assert 0.45 <= elapsed < 0.9
        # All three datagrams reached the socket, with one request-id.
        ids = {ber.decode_message(silent.recv(4096)).request_id for _ in range(3)}
        assert len(ids) == 1
    finally:
        silent.close()


async def test_wrong_request_id_is_ignored_and_counted() -> None:
    agent, port = await start_fake_agent(
        lambda m: [
            reply(m, request_id=m.request_id + 1, value=Value(Kind.INTEGER, 666)),
            reply(m),
        ]
    )
    try:
        async with SnmpEngine() as engine:
            got = await engine.get(Target("127.0.0.1", port, timeout=1), [OID])
            assert got == {OID: NAME}
            assert engine.stats.unknown_request_id == 1
    finally:
        agent.transport.close()


async def test_reply_from_wrong_host_is_ignored() -> None:
    # An impostor on 127.0.0.2 answers with the right request-id; only the real agent counts.
    impostor = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    impostor.bind(("127.0.0.2", 0))

    def script(msg: ber.Message) -> list[bytes]:
        return [] if len(agent.requests) == 1 else [reply(msg)]

    agent, port = await start_fake_agent(script)
    try:
        async with SnmpEngine() as engine:
            task = asyncio.create_task(engine.get(Target("127.0.0.1", port, timeout=0.3), [OID]))
            for _ in range(100):
                if agent.requests:
                    break
                await asyncio.sleep(0.01)
            src = engine._transports[(socket.AF_INET, "127.0.0.1")].get_extra_info("sockname")
            rid = agent.requests[0][1].request_id
            fake = ber.encode_message(1, b"public", ber.RESPONSE, rid,
                                      [(OID, Value(Kind.OCTET_STRING, b"evil"))])  # fmt: skip
            impostor.sendto(fake, ("127.0.0.1", src[1]))
            assert await task == {OID: NAME}  # answered by the retry, from the right host
            assert engine.stats.wrong_source == 1
    finally:
        agent.transport.close()
        impostor.close()


async def test_garbage_reply_is_counted_not_raised() -> None:
    agent, port = await start_fake_agent(lambda m: [b"\x30\x03\x02\x01", reply(m)])
    try:
        async with SnmpEngine() as engine:
            assert await engine.get(Target("127.0.0.1", port, timeout=1), [OID]) == {OID: NAME}
            assert engine.stats.decode_errors == 1
    finally:
        agent.transport.close()


async def test_in_flight_is_bounded_per_target() -> None:
    agent, port = await start_fake_agent(lambda m: [])  # never answers
    try:
        async with SnmpEngine(max_in_flight=2) as engine:
            target = Target("127.0.0.1", port, timeout=0.2, retries=0)
            tasks = [asyncio.create_task(engine.get(target, [OID])) for _ in range(6)]
            await asyncio.sleep(0.1)
            assert len(agent.requests) == 2
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(r, SnmpError) for r in results)
            assert len(agent.requests) == 6
    finally:
        agent.transport.close()


async def test_error_status_reasons() -> None:
    def script(msg: ber.Message) -> list[bytes]:
        status = {1: 16, 2: 5}[len(agent.requests)]
        return [ber.encode_message(1, msg.community, ber.RESPONSE, msg.request_id,
                                   [(OID, None)], status, 1)]  # fmt: skip

    agent, port = await start_fake_agent(script)
    try:
        async with SnmpEngine() as engine:
            reasons = []
            for _ in range(2):
                with pytest.raises(SnmpError) as err:
                    await engine.get(Target("127.0.0.1", port, timeout=1), [OID])
                reasons.append(err.value.reason)
        assert reasons == ["auth", "protocol"]
    finally:
        agent.transport.close()


async def test_unresolvable_name_uses_injected_resolver() -> None:
    async def resolver(host: str) -> str:
        raise OSError(f"no such host {host}")

    async with SnmpEngine(resolver=resolver) as engine:
        with pytest.raises(SnmpError) as err:
            await engine.get(Target("desa.invalid"), [OID])
    assert err.value.reason == "resolve"


ROOT = (1, 3, 6, 1, 2, 1, 2, 2)
TABLE = [((*ROOT, 1, 2, i), Value(Kind.OCTET_STRING, f"eth{i}".encode())) for i in range(1, 31)]


def table_agent(*, bulk: str = "ok", decreasing_at: int | None = None):
    """Serve TABLE; bulk='empty' answers GETBULK with no varbinds, 'toobig' with tooBig >5."""

    def script(msg: ber.Message) -> list[bytes]:
        start = msg.varbinds[0][0]
        after = [(o, v) for o, v in TABLE if o > start]
        if decreasing_at is not None and after and after[0][0][-1] == decreasing_at:
            after = [TABLE[0]]  # goes backwards
        status = 0
        if msg.pdu_type == ber.GETBULK:
            if bulk == "empty":
                after = []
            elif bulk == "toobig" and msg.error_index > 5:
                after, status = [], ber.TOO_BIG
            else:
                after = after[: msg.error_index]
        else:
            after = after[:1]
        if not after and status == 0 and msg.pdu_type != ber.GETBULK:
            after = [((1, 3, 6, 1, 2, 1, 3), Value(Kind.INTEGER, 1))]
        elif not after and status == 0 and bulk != "empty":
            after = [(start, Value(Kind.END_OF_MIB_VIEW, None))]
        return [ber.encode_message(1, msg.community, ber.RESPONSE, msg.request_id, after, status)]

    return script


async def test_bulk_without_varbinds_falls_back_to_getnext() -> None:
    agent, port = await start_fake_agent(table_agent(bulk="empty"))
    try:
        async with SnmpEngine() as engine:
            rows = await engine.walk(Target("127.0.0.1", port, timeout=1), ROOT)
            assert rows == TABLE
            assert engine.stats.bulk_fallbacks == 1
            kinds = [m.pdu_type for _, m in agent.requests]
            assert kinds[0] == ber.GETBULK and set(kinds[1:]) == {ber.GETNEXT}
    finally:
        agent.transport.close()


async def test_too_big_halves_repetitions() -> None:
    agent, port = await start_fake_agent(table_agent(bulk="toobig"))
    try:
        async with SnmpEngine() as engine:
            rows = await engine.walk(Target("127.0.0.1", port, max_repetitions=25), ROOT)
            assert rows == TABLE
            reps = [m.error_index for _, m in agent.requests]
            assert reps[:3] == [25, 12, 6] and set(reps[3:]) == {3}
    finally:
        agent.transport.close()


async def test_non_increasing_oid_is_an_error_not_a_loop() -> None:
    agent, port = await start_fake_agent(table_agent(decreasing_at=9))
    try:
        async with SnmpEngine() as engine:
            with pytest.raises(SnmpError) as err:
                await engine.walk(Target("127.0.0.1", port, max_repetitions=4), ROOT)
        assert err.value.reason == "protocol" and "not increasing" in str(err.value)
        assert len(agent.requests) <= 3
    finally:
        agent.transport.close()


async def test_max_rows_bounds_the_walk() -> None:
    agent, port = await start_fake_agent(table_agent())
    try:
        async with SnmpEngine() as engine:
            rows = await engine.walk(
                Target("127.0.0.1", port, max_repetitions=4), ROOT, max_rows=10
            )
            assert rows == TABLE[:10]
            assert engine.stats.truncated_walks == 1
    finally:
        agent.transport.close()


def _scrape() -> dict[tuple[str, str], float]:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    import netwatch.collectors.snmp.telemetry  # noqa: F401  (registers the collector)
    from netwatch.core.telemetry import REGISTRY

    out = {}
    for family in text_string_to_metric_families(generate_latest(REGISTRY).decode()):
        for sample in family.samples:
            if sample.name.startswith("netwatch_snmp_"):
                out[(sample.name, sample.labels.get("reason", ""))] = sample.value
    return out


async def test_self_metrics_count_dropped_replies() -> None:
    # Two stray replies (wrong request-id, then garbage) before the right one.
    agent, port = await start_fake_agent(
        lambda m: [reply(m, request_id=m.request_id + 7), b"\x30\x00", reply(m)]
    )
    try:
        async with SnmpEngine() as engine:
            before = _scrape()
            await engine.get(Target("127.0.0.1", port, timeout=1), [OID])
            await asyncio.sleep(0.05)  # the reply datagrams all arrive before this returns
            after = _scrape()
        dropped = "netwatch_snmp_datagrams_dropped_total"
        delta = {k: after[k] - before.get(k, 0) for k in after}
        assert delta[(dropped, "unknown_request_id")] == 1
        assert delta[(dropped, "decode")] == 1
        assert delta[("netwatch_snmp_datagrams_sent_total", "")] == 1
        assert delta[("netwatch_snmp_datagrams_received_total", "")] == 3
    finally:
        agent.transport.close()


async def test_reduced_repetitions_are_remembered_then_retried() -> None:
    agent, port = await start_fake_agent(table_agent(bulk="toobig"))
    walks: list[list[int]] = []
    try:
        async with SnmpEngine() as engine:
            target = Target("127.0.0.1", port, max_repetitions=25)
            for _ in range(18):
                seen = len(agent.requests)
                assert await engine.walk(target, ROOT) == TABLE
                walks.append([m.error_index for _, m in agent.requests[seen:]])
    finally:
        agent.transport.close()
    # Walk 1 finds 3; walks 2..17 start at 3; walk 18 tries 6 again (REPS_RECOVERY = 16).
    assert walks[0][:4] == [25, 12, 6, 3] and set(walks[0][4:]) == {3}
    assert all(set(w) == {3} for w in walks[1:17])
    assert walks[17][:2] == [6, 3] and set(walks[17][2:]) == {3}


async def test_bad_requests_are_clear_errors() -> None:
    async with SnmpEngine() as engine:
        with pytest.raises(SnmpError, match="unknown SNMP version"):
            await engine.get(Target("127.0.0.1", 9, version="2"), [OID])
        with pytest.raises(SnmpError, match="bad request") as err:
            await engine.get(Target("127.0.0.1", 9), [(3, 1, 2)])
        assert err.value.reason == "protocol"
        assert engine.stats.sent == 0


async def test_self_metrics_survive_engine_collection() -> None:
    import gc

    agent, port = await start_fake_agent(lambda m: [reply(m)])
    try:
        engine = SnmpEngine()
        await engine.get(Target("127.0.0.1", port, timeout=1), [OID])
        await engine.close()
        during = _scrape()[("netwatch_snmp_datagrams_sent_total", "")]
        del engine
        gc.collect()
        assert _scrape()[("netwatch_snmp_datagrams_sent_total", "")] == during
    finally:
        agent.transport.close()


async def test_close_fails_waiting_requests_at_once() -> None:
    agent, port = await start_fake_agent(lambda m: [])
    try:
        engine = SnmpEngine()
        task = asyncio.create_task(engine.get(Target("127.0.0.1", port, timeout=30), [OID]))
        for _ in range(100):
            if agent.requests:
                break
            await asyncio.sleep(0.01)
        start = time.monotonic()
        await engine.close()
        with pytest.raises(SnmpError, match="engine closed"):
            await task
        assert time.monotonic() - start < 1
    finally:
        agent.transport.close()


async def test_the_deadline_timer_stops_when_no_request_is_outstanding() -> None:
    # At a small inventory a poll is done in milliseconds and the next starts hundreds of
    # milliseconds later: the timer must not tick for deadlines of answered requests.
    agent, port = await start_fake_agent(lambda m: [reply(m)])
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        async with SnmpEngine() as engine:
            deadlines = engine._deadlines
            assert await engine.get(Target("127.0.0.1", port, timeout=1), [OID]) == {OID: NAME}
            assert len(deadlines) == 0 and deadlines._timer is None
            # One request outstanding: an answered one beside it leaves its deadline ticking.
            quiet = Target("127.0.0.1", silent.getsockname()[1], timeout=0.2, retries=0)
            waiting = asyncio.ensure_future(engine.get(quiet, [OID]))
            assert await engine.get(Target("127.0.0.1", port, timeout=1), [OID]) == {OID: NAME}
            assert deadlines._timer is not None
            with pytest.raises(SnmpError) as err:
                await waiting
            assert err.value.reason == "timeout"
            assert len(deadlines) == 0 and deadlines._timer is None
    finally:
        silent.close()
        agent.transport.close()  # type: ignore[union-attr]
