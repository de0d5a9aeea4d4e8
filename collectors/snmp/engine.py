"""SnmpEngine: the SnmpClient for v1/v2c over one shared asyncio UDP socket; v3 via pysnmp.

Replies are matched by request-id and by source address/port; anything else is counted
(`SnmpEngine.stats`) and dropped. Timeouts re-send the same datagram (same request-id).
Over 400 lines (about 450): the socket, the pending-request table, re-sends and the adaptive
walk share one engine's state, and read best in one place (walk.py holds what v3 shares,
bulk.py the walks of several columns at once, deadlines.py the timeouts).
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from netwatch.collectors.snmp import ber, bulk, peek
from netwatch.collectors.snmp.deadlines import Deadlines
from netwatch.collectors.snmp.gate import Gate
from netwatch.collectors.snmp.routes import SourceAddresses
from netwatch.collectors.snmp.types import OID, Kind, SnmpError, Target, Value
from netwatch.collectors.snmp.udp import kernel_drops, widen_receive_queue
from netwatch.collectors.snmp.walk import Walker, check_status

if TYPE_CHECKING:
    from netwatch.collectors.snmp.v3 import V3Client

Resolver = Callable[[str], Awaitable[str]]
_TIMEOUT = object()
_CLOSED = object()
MAX_OIDS_PER_GET = 32
_ID_SPAN = 0x7FFFFFFF  # request-ids run 1..2^31-1, in order, then wrap
# An answer whose request-id is among the last this many handed out, with no request waiting,
# is late (its request timed out or was answered already), not foreign: ~30 min at 500/s.
RECENT_IDS = 1 << 20
REPS_RECOVERY = 16  # clean walks before a reduced max-repetitions is doubled again
# The engine socket's receive queue: answers that arrive while the loop is held (a scrape's
# turn, a settle) wait here instead of being dropped by the kernel and asked again.
RCVBUF_BYTES = 4 << 20  # the kernel gives twice this (SO_RCVBUFFORCE as root, else capped)
_ENGINES: weakref.WeakSet[SnmpEngine] = weakref.WeakSet()
_RETIRED: list[EngineStats] = []  # stats of collected engines, so totals never go down


def stats_totals() -> dict[str, int]:
    """EngineStats summed over every engine ever created (monotonic, for self-metrics)."""
    engines = list(_ENGINES)  # strong references: none of these is retired while we sum
    totals = dict.fromkeys(EngineStats.__dataclass_fields__, 0)
    for stats in [*_RETIRED, *(e.stats for e in engines)]:
        for name in totals:
            totals[name] += getattr(stats, name)
    for engine in engines:  # open sockets count their own; closed ones were folded in
        for transport in list(engine._transports.values()):
            totals["socket_drops"] += kernel_drops(transport)
    return totals


def in_flight_total() -> int:
    return sum(e.in_flight for e in list(_ENGINES))


def _retire(stats: EngineStats) -> None:
    # Fold into one record so that short-lived engines (CLI, tests) do not pile up.
    if not _RETIRED:
        _RETIRED.append(EngineStats())
    total = _RETIRED[0]
    for name in total.__dataclass_fields__:
        setattr(total, name, getattr(total, name) + getattr(stats, name))


@dataclass
class EngineStats:
    """Counters of dropped or odd datagrams (monotonic; read them for self-metrics)."""

    sent: int = 0
    received: int = 0
    retries: int = 0
    timeouts: int = 0
    decode_errors: int = 0
    unknown_request_id: int = 0
    wrong_source: int = 0
    wrong_pdu: int = 0
    late_answers: int = 0  # to a request that timed out or was answered: shed undecoded
    decoded: int = 0  # answers decoded (each awaited by a request)
    socket_drops: int = 0  # dropped by the kernel (receive queue full) on sockets now closed
    bulk_fallbacks: int = 0
    repetition_reductions: int = 0  # single walks: half the repetitions; multi: half the varbinds
    truncated_walks: int = 0
    carry_declined: int = 0  # get_and_walk: the request carrying the scalars got no clean answer


@dataclass(slots=True)
class _Pending:
    addr: tuple[str, int]
    waiter: asyncio.Future[object] | None = None
    attempt: int = 0  # serial of the datagram last sent: its deadline's token


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, engine: SnmpEngine) -> None:
        self.engine = engine

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        self.engine._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: the request simply times out.
        pass


@dataclass
class _TargetState:
    gate: Gate  # requests in flight to this agent (max_in_flight)
    no_bulk: bool = False
    # Per walked root: (max-repetitions that worked after a reduction, clean walks since).
    reps_cap: dict[OID, tuple[int, int]] = field(default_factory=dict)
    # walk_many: (varbinds per request that worked after a reduction, clean polls since), and
    # the rows each root held at the last poll.
    bulk_cap: tuple[int, int] | None = None
    bulk_cap_unconfirmed: bool = False  # cut by lost answers only: asked at full size again
    rows_hint: bulk.RowsHint | None = None
    no_shared_walks: bool = False  # answered several repeaters out of order: one column a walk
    carry_pause: int = 0  # polls left before the scalars ride in the first GETBULK again


@dataclass(eq=False)  # identity semantics: engines are tracked in a WeakSet
class SnmpEngine:
    """SNMP v1/v2c (own codec) and v3 (pysnmp) behind the SnmpClient API."""

    max_in_flight: int = 4  # concurrent requests per target (address, port)
    resolver: Resolver | None = None  # for non-literal addresses; default: loop.getaddrinfo
    local_address: str = "0.0.0.0"
    stats: EngineStats = field(default_factory=EngineStats)
    receive_queue: int = RCVBUF_BYTES  # bytes asked for each socket (0: the kernel's default)

    def __post_init__(self) -> None:
        self._transports: dict[tuple[int, str], asyncio.DatagramTransport] = {}
        self._pending: dict[int, _Pending] = {}
        self._waiting: dict[tuple[str, int], int] = {}  # target → requests awaiting a reply
        self._sources = SourceAddresses()
        self._targets: dict[tuple[str, int], _TargetState] = {}
        self._literals: dict[str, tuple[int, str]] = {}
        self._next_id = random.randrange(1, 1 << 30)
        self._v3: V3Client | None = None
        self._lock = asyncio.Lock()
        self._deadlines = Deadlines(self._expire)
        self._attempts = 0
        self.receive_queue_bytes = 0  # what the kernel gave the last socket opened (SO_RCVBUF)
        _ENGINES.add(self)
        weakref.finalize(self, _retire, self.stats)

    @property
    def in_flight(self) -> int:
        """v1/v2c requests waiting for an answer."""
        return len(self._pending)

    # ---- lifecycle --------------------------------------------------------------------

    async def close(self) -> None:
        """Close the sockets; requests still waiting fail at once instead of timing out."""
        for pending in self._pending.values():
            if pending.waiter is not None and not pending.waiter.done():
                pending.waiter.set_result(_CLOSED)
        self._deadlines.close()
        for transport in self._transports.values():
            self.stats.socket_drops += kernel_drops(transport)  # totals never go down
            transport.close()
        self._transports.clear()
        if self._v3 is not None:
            self._v3.close()
            self._v3 = None

    async def __aenter__(self) -> SnmpEngine:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _transport(self, family: int, peer: str) -> asyncio.DatagramTransport:
        """The socket bound to the source address the kernel routes toward peer.

        Bound to that address only (127.0.0.1 for loopback devices, the management
        interface's address for the rest), never to every address: a socket open on all
        interfaces takes datagrams from any network that can reach the host.
        """
        local = self._source_for(family, peer)
        key = (family, local)
        transport = self._transports.get(key)
        if transport is None or transport.is_closing():
            async with self._lock:
                transport = self._transports.get(key)
                if transport is None or transport.is_closing():
                    loop = asyncio.get_running_loop()
                    transport, _ = await loop.create_datagram_endpoint(
                        lambda: _Protocol(self), local_addr=(local, 0), family=family
                    )
                    self.receive_queue_bytes = widen_receive_queue(transport, self.receive_queue)
                    self._transports[key] = transport
        return transport

    def _source_for(self, family: int, peer: str) -> str:
        wildcard = self.local_address if family == socket.AF_INET else "::"
        if wildcard not in ("0.0.0.0", "::"):
            return wildcard  # an explicit source address wins
        return self._sources.toward(family, peer, wildcard)

    # ---- datagrams --------------------------------------------------------------------

    def _on_datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        stats = self.stats
        stats.received += 1
        # Request-id and source first, from a few header bytes: a datagram that answers nothing
        # we wait for (a foreign one, or one whose request timed out or was answered already)
        # costs nothing to drop, however large; only an awaited answer is decoded.
        rid = peek.request_id(data)
        if rid is None:
            stats.decode_errors += 1
            return
        pending = self._pending.get(rid)
        if pending is None:
            if self._recent(rid):
                stats.late_answers += 1  # timed out (all tries) or answered before: shed
            elif self._waiting.get((addr[0], addr[1]), 0) <= 0:
                stats.wrong_source += 1
            else:
                stats.unknown_request_id += 1
            return
        if (addr[0], addr[1]) != pending.addr:
            stats.wrong_source += 1
            return
        try:
            msg = ber.decode_message(data)
        except SnmpError:
            stats.decode_errors += 1
            return
        stats.decoded += 1
        if msg.pdu_type != ber.RESPONSE:
            stats.wrong_pdu += 1
            return
        waiter = pending.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(msg)

    def _recent(self, rid: int) -> bool:
        """Whether rid is one of the last RECENT_IDS request-ids this engine handed out."""
        return 0 < (self._next_id - rid) % _ID_SPAN <= RECENT_IDS

    def _expire(self, token: tuple[int, int]) -> None:
        pending = self._pending.get(token[0])
        if pending is None or pending.attempt != token[1]:
            return  # answered (or re-sent) before its deadline
        waiter = pending.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(_TIMEOUT)

    def _new_request_id(self) -> int:
        rid = self._next_id
        while rid in self._pending:
            rid = rid + 1 if rid < 0x7FFFFFFF else 1
        self._next_id = rid + 1 if rid < 0x7FFFFFFF else 1
        return rid

    async def _address(self, target: Target) -> tuple[int, tuple[str, int]]:
        host = target.address
        literal = self._literals.get(host)
        if literal is not None:
            return literal[0], (literal[1], target.port)
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = ipaddress.ip_address(await self._resolve(host))
        else:  # only literals are cached: a name may resolve differently next time
            family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
            self._literals[host] = (family, str(ip))
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        return family, (str(ip), target.port)

    async def _resolve(self, host: str) -> str:
        try:
            if self.resolver is not None:
                return await self.resolver(host)
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_DGRAM)
            return str(infos[0][4][0])
        except (OSError, LookupError, ValueError) as exc:
            raise SnmpError("resolve", f"{host}: cannot resolve: {exc}") from None

    def _state(self, addr: tuple[str, int]) -> _TargetState:
        state = self._targets.get(addr)
        if state is None:
            state = self._targets[addr] = _TargetState(Gate(self.max_in_flight))
        return state

    async def _request(
        self,
        target: Target,
        pdu_type: int,
        oids: Sequence[OID],
        max_repetitions: int = 0,
        *,
        tries: int | None = None,
        non_repeaters: int = 0,
    ) -> ber.Message:
        """Send one PDU, re-sending on timeout; returns the matched Response."""
        if target.version not in ("1", "2c"):
            raise SnmpError(
                "protocol", f"{target.address}: unknown SNMP version {target.version!r}"
            )
        literal = self._literals.get(target.address)  # no coroutine for the usual case
        if literal is not None:
            family, addr = literal[0], (literal[1], target.port)
        else:
            family, addr = await self._address(target)
        transport = self._transports.get((family, self._source_for(family, addr[0])))
        if transport is None or transport.is_closing():
            transport = await self._transport(family, addr[0])
        version = ber.VERSION_1 if target.version == "1" else ber.VERSION_2C
        community = target.community.encode()
        loop = asyncio.get_running_loop()
        if tries is None:
            tries = target.retries + 1
        gate = self._state(addr).gate
        if not gate.take():
            await gate.wait()
        try:
            rid = self._new_request_id()
            try:
                data = ber.encode_request(
                    version, community, pdu_type, rid, oids,
                    non_repeaters=non_repeaters, max_repetitions=max_repetitions,
                )  # fmt: skip
            except ValueError as exc:  # an OID no agent could be asked for (e.g. 3.1)
                raise SnmpError("protocol", f"{addr[0]}:{addr[1]}: bad request: {exc}") from None
            pending = self._pending[rid] = _Pending(addr)
            self._waiting[addr] = self._waiting.get(addr, 0) + 1
            try:
                for attempt in range(tries):
                    waiter: asyncio.Future[object] = loop.create_future()
                    pending.waiter = waiter
                    transport.sendto(data, addr)
                    self.stats.sent += 1
                    if attempt:
                        self.stats.retries += 1
                    self._attempts += 1
                    pending.attempt = self._attempts
                    self._deadlines.add(loop, target.timeout, (rid, self._attempts))
                    result = await waiter
                    if result is _CLOSED:
                        raise SnmpError("protocol", f"{addr[0]}:{addr[1]}: engine closed")
                    if result is not _TIMEOUT:
                        return result  # type: ignore[return-value]
            finally:
                del self._pending[rid]
                if not self._pending:  # every queued deadline is stale: no tick for them
                    self._deadlines.close()
                left = self._waiting[addr] - 1
                if left:
                    self._waiting[addr] = left
                else:
                    del self._waiting[addr]
        finally:
            gate.release()
        self.stats.timeouts += 1
        raise SnmpError(
            "timeout", f"{addr[0]}:{addr[1]}: no response after {tries} tries of {target.timeout}s"
        )

    # ---- SnmpClient -------------------------------------------------------------------

    async def get(self, target: Target, oids: Sequence[OID]) -> dict[OID, Value]:
        """GET the OIDs; exceptions (noSuchObject...) come back as Values, not errors."""
        if target.version == "3":
            return await self._v3_client().get(target, oids)
        out: dict[OID, Value] = {}
        for i in range(0, len(oids), MAX_OIDS_PER_GET):
            await self._get_chunk(target, list(oids[i : i + MAX_OIDS_PER_GET]), out)
        return out

    async def _get_chunk(self, target: Target, oids: list[OID], out: dict[OID, Value]) -> None:
        msg = await self._request(target, ber.GET, oids)
        if msg.error_status == ber.TOO_BIG and len(oids) > 1:
            half = len(oids) // 2
            await self._get_chunk(target, oids[:half], out)
            await self._get_chunk(target, oids[half:], out)
            return
        # SNMPv1 fails a whole GET on one missing object (noSuchName, error-index names it):
        # mark that one missing, as v2c would, and ask again for the rest (as net-snmp does).
        # Each round drops one OID, so the rounds are bounded by the chunk size.
        while (
            target.version == "1"
            and msg.error_status == ber.NO_SUCH_NAME
            and 0 < msg.error_index <= len(oids)
        ):
            missing = oids[msg.error_index - 1]
            out[missing] = Value(Kind.NO_SUCH_OBJECT, None)
            oids = [o for o in oids if o != missing]
            if not oids:
                return
            msg = await self._request(target, ber.GET, oids)
        check_status(target, msg, oids)
        if len(msg.varbinds) != len(oids):
            raise SnmpError(
                "protocol",
                f"{target.address}: {len(msg.varbinds)} varbinds for {len(oids)} requested",
            )
        out.update(msg.varbinds)

    async def walk(
        self, target: Target, root: OID, *, max_rows: int = 100_000
    ) -> list[tuple[OID, Value]]:
        """All (oid, value) below root in OID order, at most max_rows of them."""
        if target.version == "3":
            return await self._v3_client().walk(target, root, max_rows=max_rows)
        _, addr = await self._address(target)
        walker = Walker(root, max_rows)
        await self._walk_on(target, self._state(addr), walker)
        return walker.rows

    async def _walk_on(self, target: Target, state: _TargetState, walker: Walker) -> None:
        """Walk one column from where walker stands to its end (raises SnmpError)."""
        full = max(1, target.max_repetitions)
        cap, clean = state.reps_cap.get(walker.root, (full, 0))
        reps = min(cap, full)
        reduced = False
        while not walker.done:
            bulk = target.version != "1" and not state.no_bulk
            if not bulk:
                msg = await self._request(target, ber.GETNEXT, [walker.last])
                if target.version == "1" and msg.error_status == ber.NO_SUCH_NAME:
                    break  # v1's end of MIB view
                check_status(target, msg, [walker.last])
                if len(msg.varbinds) != 1:
                    raise SnmpError(
                        "protocol",
                        f"{target.address}: GETNEXT answered with {len(msg.varbinds)} varbinds",
                    )
                walker.feed(target, msg.varbinds)
                continue
            try:
                # A big reply that never comes is often one the agent could not send:
                # below full repetitions, try once then halve.
                tries = None if reps == 1 else 1
                msg = await self._request(target, ber.GETBULK, [walker.last], reps, tries=tries)
            except SnmpError as exc:
                if exc.reason == "timeout" and reps > 1:
                    reps //= 2
                    reduced = True
                    self.stats.repetition_reductions += 1
                    continue
                raise
            if msg.error_status == ber.TOO_BIG and reps > 1:
                reps //= 2
                reduced = True
                self.stats.repetition_reductions += 1
                continue
            if (
                msg.error_status not in (0, ber.TOO_BIG, ber.AUTHORIZATION_ERROR)
                or not msg.varbinds
            ):
                # Agents that mishandle GETBULK: answer it with an error or nothing.
                state.no_bulk = True
                self.stats.bulk_fallbacks += 1
                continue
            check_status(target, msg, [walker.last])
            walker.feed(target, msg.varbinds)
        if walker.truncated:
            self.stats.truncated_walks += 1
        self._learn_repetitions(state, walker.root, full, reps, reduced, clean)

    @staticmethod
    def _learn_repetitions(
        state: _TargetState, root: OID, full: int, reps: int, reduced: bool, clean: int
    ) -> None:
        # Start the next walk of this root where this one succeeded, so that a table whose
        # full-size answers never arrive costs one timeout, not one per poll; after
        # REPS_RECOVERY clean walks try twice as many again (the loss may have been transient).
        if reduced:
            state.reps_cap[root] = (reps, 0)
        elif root in state.reps_cap:
            if clean + 1 < REPS_RECOVERY:
                state.reps_cap[root] = (reps, clean + 1)
            elif reps * 2 >= full:
                del state.reps_cap[root]
            else:
                state.reps_cap[root] = (reps * 2, 0)

    async def walk_many(
        self, target: Target, roots: Sequence[OID], *, max_rows: int = 100_000
    ) -> bulk.WalkResult:
        """Walk every root (each as `walk` would); a root that fails maps to its SnmpError.

        v1/v2c agents get several roots per request, up to target.bulk_varbinds varbinds
        (collectors/snmp/bulk.py); v3, or bulk_varbinds 0, walk the roots one at a time.
        """
        return await bulk.walk_many(self, target, roots, max_rows)

    async def get_and_walk(
        self, target: Target, oids: Sequence[OID], roots: Sequence[OID], *, max_rows: int = 100_000
    ) -> tuple[dict[OID, Value], bulk.WalkResult] | None:
        """`get(oids)` and `walk_many(roots)` in one round trip: the scalars (each x.0) ride as
        non-repeaters of the walk's first GETBULK. None when that cannot be done or its answer
        was not clean: the caller then GETs and walks as before (collectors/snmp/bulk.py)."""
        return await bulk.get_and_walk(self, target, oids, roots, max_rows)

    def _v3_client(self) -> V3Client:
        if self._v3 is None:
            from netwatch.collectors.snmp.v3 import V3Client

            self._v3 = V3Client()
        return self._v3
