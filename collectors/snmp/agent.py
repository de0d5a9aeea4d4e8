"""A small simulated SNMP v2c agent for demos: GET/GETNEXT/GETBULK from in-memory OID tables.

Tables are chosen by (local address, community); a `Counter` value grows with time (and wraps),
TimeTicks at `UPTIME` count from the agent's start. Not a full agent: no SET, no v3, no traps.
"""

from __future__ import annotations

import asyncio
import bisect
import time
from collections.abc import Mapping
from dataclasses import dataclass

from netwatch.collectors.snmp import ber
from netwatch.collectors.snmp.types import OID, Kind, SnmpError, Value

UPTIME: OID = (1, 3, 6, 1, 2, 1, 1, 3, 0)
_MAX_RESPONSE = 1400  # varbinds per answer; keeps replies well below a UDP datagram
_NO_SUCH_OBJECT = Value(Kind.NO_SUCH_OBJECT, None)
_END = Value(Kind.END_OF_MIB_VIEW, None)


@dataclass(frozen=True, slots=True)
class Counter:
    """A Counter32/Counter64 that starts at `initial` and grows by `rate` per second."""

    initial: int
    rate: float
    kind: Kind = Kind.COUNTER64

    def at(self, elapsed: float) -> Value:
        bits = 64 if self.kind == Kind.COUNTER64 else 32
        return Value(self.kind, int(self.initial + self.rate * elapsed) % (1 << bits))


class Table:
    """A sorted OID table; values are Values or Counters."""

    def __init__(self, values: Mapping[OID, Value | Counter]) -> None:
        self.values = dict(values)
        self.oids = sorted(self.values)

    def value(self, oid: OID, elapsed: float) -> Value:
        if oid == UPTIME and oid not in self.values:
            return Value(Kind.TIMETICKS, int(elapsed * 100) % (1 << 32))
        v = self.values.get(oid)
        if v is None:
            return _NO_SUCH_OBJECT
        return v.at(elapsed) if isinstance(v, Counter) else v

    def next(self, oid: OID, elapsed: float) -> tuple[OID, Value]:
        i = bisect.bisect_right(self.oids, oid)
        if i == len(self.oids):
            return oid, _END
        nxt = self.oids[i]
        return nxt, self.value(nxt, elapsed)


class SimulatedAgent(asyncio.DatagramProtocol):
    """Answers for the tables of one local address (community → Table)."""

    def __init__(self, tables: Mapping[str, Table]) -> None:
        self.tables = {c.encode(): t for c, t in tables.items()}
        self.started = time.monotonic()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        try:
            msg = ber.decode_message(data)
        except SnmpError:
            return  # as real agents: malformed input is dropped
        table = self.tables.get(msg.community)
        if table is None or msg.version != ber.VERSION_2C or self.transport is None:
            return  # an unknown community gets no answer
        varbinds = self.answer(table, msg, time.monotonic() - self.started)
        reply = ber.encode_message(msg.version, msg.community, ber.RESPONSE, msg.request_id,
                                   varbinds)  # fmt: skip
        self.transport.sendto(reply, addr)

    @staticmethod
    def answer(table: Table, msg: ber.Message, elapsed: float) -> list[tuple[OID, Value]]:
        oids = [oid for oid, _ in msg.varbinds]
        if msg.pdu_type == ber.GET:
            return [(oid, table.value(oid, elapsed)) for oid in oids]
        if msg.pdu_type == ber.GETNEXT:
            return [table.next(oid, elapsed) for oid in oids]
        if msg.pdu_type != ber.GETBULK:
            return []
        non_rep = max(0, min(msg.error_status, len(oids)))
        out = [table.next(oid, elapsed) for oid in oids[:non_rep]]
        repeaters = oids[non_rep:]
        for _ in range(max(0, msg.error_index)):
            if not repeaters or len(out) + len(repeaters) > _MAX_RESPONSE:
                break
            row = [table.next(oid, elapsed) for oid in repeaters]
            out += row
            if all(v.kind == Kind.END_OF_MIB_VIEW for _, v in row):
                break
            repeaters = [oid for oid, _ in row]
        return out


async def serve(
    address: str, port: int, tables: Mapping[str, Table]
) -> tuple[asyncio.DatagramTransport, SimulatedAgent]:
    """Listen on address:port (port 0 = any free port) until the transport is closed."""
    loop = asyncio.get_running_loop()
    transport, agent = await loop.create_datagram_endpoint(
        lambda: SimulatedAgent(tables), local_addr=(address, port)
    )
    return transport, agent
