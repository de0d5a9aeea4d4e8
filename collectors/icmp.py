"""ICMP echo collector: one shared socket per address family for every target.

Replies are matched by sequence number, source address, identifier (raw sockets only: the
kernel rewrites it on datagram sockets) and a per-echo serial in the payload, so that no reply
is counted twice, for the wrong host or for a later echo that reused its sequence number.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import struct
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from netwatch.core.observations import PingObservation, PingResult

if TYPE_CHECKING:
    from netwatch.core.model import Device, PingSettings

# resolver(name) -> addresses (the first is used); IPv6 ones may carry a scope, "fe80::1%2".
Resolver = Callable[[str], Awaitable[Sequence[str] | str]]

ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129
_SOL_RAW = 255  # linux/socket.h; socket has no constant for it
_ICMP_FILTER = 1  # linux/icmp.h
_ICMP6_FILTER = 1  # linux/icmpv6.h
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)
# A loopback sweep of 5,000 hosts can queue thousands of replies before we read: ~1 KiB each.
RCVBUF_BYTES = 16 << 20
SNDBUF_BYTES = 4 << 20
SERIAL_BYTES = 8  # payloads at least this long carry a per-echo serial
SEND_BATCH = 64  # sends between yields to the loop, so the reader drains the socket
READ_BATCH = 4096  # replies read per wake-up of the reader at most
# Enough for an IPv4 header with options, the ICMP header and the serial: the rest of a longer
# reply is not needed, and a small buffer is cheaper to allocate per datagram than 64 KiB.
RECV_BYTES = 60 + 8 + SERIAL_BYTES
_SEQ_SPACE = 1 << 16
RESOLVE_TIMEOUT = 5.0  # seconds a name may take to resolve
_MAX_RETRY_SECONDS = 60.0  # a send waiting for queue or sequence space gives up after this

_HDR = struct.Struct("!BBHHH")
_ID_SEQ = struct.Struct("!HH").unpack_from
_SERIAL = struct.Struct("!Q").unpack_from
_HDR_SERIAL = struct.Struct("!BBHHHQ").pack


_SEQ_FULL = BlockingIOError(errno.EAGAIN, "too many echoes outstanding")
_CLOSED = "send failed: the pinger is closed"


class IcmpUnavailable(RuntimeError):
    """Neither a raw nor a datagram ICMP socket can be opened (missing privilege)."""


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


async def default_resolver(host: str) -> list[str]:
    """Resolve a name with the loop's getaddrinfo (the system resolver)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_RAW)
    # An IPv6 scope comes back in sockaddr[3], not in the address string.
    return [
        f"{info[4][0]}%{info[4][3]}" if len(info[4]) > 3 and info[4][3] else info[4][0]
        for info in infos
    ]


class _Family:
    """One shared socket of one address family, with its outstanding echoes."""

    __slots__ = (
        "fd",
        "ident",
        "late",
        "loop",
        "mode",
        "name",
        "pending",
        "raw4",
        "req_type",
        "send_errors",
        "seq",
        "sock",
        "unmatched",
    )

    def __init__(self, sock: socket.socket, mode: str, v6: bool) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.mode = mode
        self.req_type = ICMP6_ECHO_REQUEST if v6 else ICMP_ECHO_REQUEST
        # Only raw IPv4 sockets deliver the IP header before the ICMP message, and only there
        # does the kernel leave the ICMP checksum to us.
        self.raw4 = mode == "raw" and not v6
        self.ident = int.from_bytes(os.urandom(2), "big")
        self.seq = int.from_bytes(os.urandom(2), "big")
        self.pending: dict[int, tuple] = {}  # seq -> (round, index, address, serial, sent)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.name = "ipv6" if v6 else "ipv4"
        # Rare events only, for self-metrics: counting every echo here would cost the hot path.
        self.late = 0  # replies to a pending echo after its timeout
        self.unmatched = 0  # replies with our identifier but no such echo, host or serial
        self.send_errors = 0


class _Waiter:
    """Completion of a set of rounds: all echoes answered, or the deadline passed."""

    __slots__ = ("future", "handle", "remaining", "sending")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.future = loop.create_future()
        self.remaining = 0  # echoes sent and not yet answered
        self.sending = True
        self.handle: asyncio.TimerHandle | None = None

    def finish(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


class EchoRound:
    """The echoes of one round to one host; rtts[i] is None for a lost echo."""

    __slots__ = (
        "address",
        "error",
        "family",
        "handle",
        "received",
        "rtts",
        "sent",
        "seqs",
        "size",
        "sockaddr",
        "spacing",
        "start",
        "target",
        "timeout",
        "waiter",
    )

    def __init__(self, address: str, count: int, timeout: float) -> None:
        self.address = address  # as given
        self.target: str | None = None  # resolved address, as the kernel reports sources
        self.family: _Family | None = None
        self.rtts: list[float | None] = [None] * count
        self.sent = 0
        self.received = 0
        self.error: str | None = None
        self.seqs: list[int] = []
        self.timeout = timeout
        self.waiter: _Waiter | None = None
        self.sockaddr: tuple | None = None  # (addr, 0) or (addr, 0, 0, scope_id)
        self.handle: asyncio.TimerHandle | None = None  # the next send, or the deadline
        self.spacing = 0.0
        self.size = 0
        self.start = 0.0

    def result(self) -> PingResult:
        rtts = [r for r in self.rtts if r is not None]
        return PingResult(self.address, self.sent, self.received, rtts, self.error)


class Pinger:
    """Sends ICMP echoes to any number of hosts over one socket per address family."""

    def __init__(self, families: dict[int, _Family | str], resolver: Resolver) -> None:
        self._families = families  # AF_INET/AF_INET6 -> _Family, or why it is unavailable
        self._resolver = resolver
        self._serial = int.from_bytes(os.urandom(8), "big")
        self._payloads: dict[int, tuple[bytes, int]] = {}  # size -> (padding, its word sum)
        self._waiters: set[_Waiter] = set()  # rounds and sweeps running now
        # A stuck system resolver must not hold a round (or a sweep) for its own timeouts.
        self.resolve_timeout = RESOLVE_TIMEOUT
        self.closed = False
        first = next((f for f in families.values() if isinstance(f, _Family)), None)
        self.mode: str = first.mode if first else "none"

    @classmethod
    async def create(cls, *, resolver: Resolver | None = None, mode: str | None = None) -> Pinger:
        """Open the sockets: raw if permitted, else datagram; mode forces one ("raw"/"dgram")."""
        return cls.open(resolver=resolver, mode=mode)

    @classmethod
    def open(cls, *, resolver: Resolver | None = None, mode: str | None = None) -> Pinger:
        """Synchronous create(): the sockets belong to the calling thread's network namespace."""
        if mode not in (None, "raw", "dgram"):
            raise ValueError(f"mode must be 'raw' or 'dgram', not {mode!r}")
        kinds = [mode] if mode else ["raw", "dgram"]
        families: dict[int, _Family | str] = {}
        errors = []
        for af in (socket.AF_INET, socket.AF_INET6):
            opened = _open_socket(af, kinds)
            families[af] = opened
            if isinstance(opened, str):
                errors.append(opened)
        if not any(isinstance(f, _Family) for f in families.values()):
            raise IcmpUnavailable(_unavailable_message(errors))
        return cls(families, resolver or default_resolver)

    def stats(self) -> list[dict[str, object]]:
        """Per open socket: mode, outstanding echoes, late and unmatched replies, failed sends."""
        return [
            {
                "family": fam.name,
                "mode": fam.mode,
                "outstanding": len(fam.pending),
                "late_replies": fam.late,
                "unmatched_replies": fam.unmatched,
                "send_errors": fam.send_errors,
            }
            for fam in self._families.values()
            if isinstance(fam, _Family)
        ]

    def close(self) -> None:
        """Close the sockets; pings still running end at once with what they have."""
        self.closed = True
        for waiter in list(self._waiters):
            waiter.finish()
        for fam in self._families.values():
            if isinstance(fam, _Family):
                if fam.loop is not None and not fam.loop.is_closed():
                    fam.loop.remove_reader(fam.fd)
                    fam.loop = None
                fam.sock.close()

    async def ping(
        self,
        address: str,
        *,
        count: int = 5,
        spacing: float = 0.2,
        timeout: float = 1.0,
        size: int = 56,
    ) -> PingResult:
        """One round of count echoes to address; errors are reported in the result."""
        _check(count, size)
        loop = asyncio.get_running_loop()
        rnd = EchoRound(address, count, timeout)
        bare, _, scope = address.partition("%")
        literal = _literal(bare)
        if literal is None:
            await self._resolve([rnd])
        else:
            self._bind_literal(rnd, literal, scope)
        if self.closed and rnd.error is None:
            rnd.error = _CLOSED
        if rnd.error is not None:
            return rnd.result()
        if rnd.family.loop is not loop:
            self._attach(rnd.family, loop)
        waiter = rnd.waiter = _Waiter(loop)
        self._waiters.add(waiter)
        rnd.spacing, rnd.size, rnd.start = spacing, size, loop.time()
        try:
            # Timer callbacks, not a sleeping coroutine: one round costs one Future in all.
            self._tick(rnd, 0)
            await waiter.future
        finally:
            self._waiters.discard(waiter)
            if rnd.handle is not None:
                rnd.handle.cancel()
            _forget(rnd)
        return rnd.result()

    async def sweep(
        self,
        addresses: Iterable[str],
        *,
        count: int = 3,
        spacing: float = 0.2,
        timeout: float = 1.0,
        size: int = 56,
    ) -> list[PingResult]:
        """count echoes to each of many hosts at once, in the order given."""
        rounds = await self.sweep_rounds(addresses, count, spacing, timeout, size)
        return [r.result() for r in rounds]

    async def sweep_rounds(
        self,
        addresses: Iterable[str],
        count: int = 3,
        spacing: float = 0.2,
        timeout: float = 1.0,
        size: int = 56,
    ) -> list[EchoRound]:
        """sweep() keeping each echo's position (for fping -C style output)."""
        _check(count, size)
        loop = asyncio.get_running_loop()
        rounds = [EchoRound(a, count, timeout) for a in addresses]
        await self._resolve(rounds)
        waiter = _Waiter(loop)
        live = []
        for rnd in rounds:
            if self.closed and rnd.error is None:
                rnd.error = _CLOSED
            if rnd.error is None:
                rnd.waiter = waiter
                rnd.size = size
                live.append(rnd)
                if rnd.family.loop is not loop:
                    self._attach(rnd.family, loop)
        self._waiters.add(waiter)
        try:
            if live:
                await self._send_rounds(loop, live, waiter, count, spacing, timeout, size)
                await waiter.future
        finally:
            self._waiters.discard(waiter)
            if waiter.handle is not None:
                waiter.handle.cancel()
            for rnd in live:
                _forget(rnd)
        return rounds

    async def _resolve(self, rounds: list[EchoRound]) -> None:
        names = []
        for rnd in rounds:
            bare, _, scope = rnd.address.partition("%")
            literal = _literal(bare)
            if literal is None:
                names.append(rnd)
            else:
                self._bind_literal(rnd, literal, scope)
        if names:
            answers = await asyncio.gather(
                *(self._resolve_one(r.address) for r in names), return_exceptions=True
            )
            for rnd, ans in zip(names, answers, strict=True):
                if isinstance(ans, BaseException):
                    if not isinstance(ans, Exception):
                        raise ans
                    rnd.error = f"unresolvable: {rnd.address}: {ans}"
                    continue
                addrs = [ans] if isinstance(ans, str) else list(ans)
                if not addrs:
                    rnd.error = f"unresolvable: {rnd.address}: no address"
                    continue
                self._bind(rnd, addrs[0])

    async def _resolve_one(self, name: str) -> Sequence[str] | str:
        try:
            return await asyncio.wait_for(self._resolver(name), self.resolve_timeout)
        except TimeoutError:
            raise TimeoutError(f"no answer in {self.resolve_timeout:g} s") from None

    def _bind(self, rnd: EchoRound, addr: str) -> None:
        bare, _, scope = addr.partition("%")
        norm = _literal(bare)
        if norm is None:
            rnd.error = f"unresolvable: {rnd.address}: not an IP address: {addr}"
            return
        self._bind_literal(rnd, norm, scope)

    def _bind_literal(self, rnd: EchoRound, norm: str, scope: str) -> None:
        v6 = ":" in norm
        fam = self._families.get(socket.AF_INET6 if v6 else socket.AF_INET)
        if not isinstance(fam, _Family):
            rnd.error = f"send failed: {fam or 'no ICMP socket for this address family'}"
            return
        if v6:
            # Sources come back without their scope (it is sockaddr[3]): compare bare addresses.
            try:
                scope_id = _scope_id(scope)
            except OSError:
                rnd.error = f"unresolvable: {rnd.address}: no interface {scope!r}"
                return
            rnd.sockaddr = (norm, 0, 0, scope_id)
        else:
            rnd.sockaddr = (norm, 0)
        rnd.target = norm
        rnd.family = fam

    def _payload(self, size: int) -> tuple[bytes, int]:
        cached = self._payloads.get(size)
        if cached is None:
            pad_len = size - SERIAL_BYTES if size >= SERIAL_BYTES else size
            padding = bytes((0x10 + i) & 0xFF for i in range(pad_len))
            # Word sum of the padding at its offset (it starts on an even byte either way).
            words = padding + b"\0" if pad_len % 2 else padding
            wsum = sum(struct.unpack(f"!{len(words) // 2}H", words)) if words else 0
            cached = self._payloads[size] = (padding, wsum)
        return cached

    def _emit(self, rnd: EchoRound, index: int, padding: bytes, pad_sum: int) -> OSError | None:
        """Send echo index of rnd now and register it; a failure is returned, not raised."""
        fam = rnd.family
        pending = fam.pending
        if len(pending) >= _SEQ_SPACE:
            return _SEQ_FULL
        seq = fam.seq
        while seq in pending:
            seq = (seq + 1) & 0xFFFF
        fam.seq = (seq + 1) & 0xFFFF
        if rnd.size >= SERIAL_BYTES:
            serial = self._serial = (self._serial + 1) & 0xFFFFFFFFFFFFFFFF
            csum = 0
            if fam.raw4:  # raw IPv4: the kernel leaves the checksum to us
                s = (
                    (fam.req_type << 8)
                    + fam.ident
                    + seq
                    + (serial >> 48)
                    + ((serial >> 32) & 0xFFFF)
                    + ((serial >> 16) & 0xFFFF)
                    + (serial & 0xFFFF)
                    + pad_sum
                )
                s = (s & 0xFFFF) + (s >> 16)
                s = (s & 0xFFFF) + (s >> 16)
                csum = ~s & 0xFFFF
            packet = _HDR_SERIAL(fam.req_type, 0, csum, fam.ident, seq, serial) + padding
        else:
            serial = None
            packet = _packet(fam, seq, padding)
        try:
            fam.sock.sendto(packet, rnd.sockaddr)
        except PermissionError:
            # A firewall on this host dropped the echo (an nftables/iptables OUTPUT rule):
            # as ping(8) does, count it sent and lost, so a filtered path reads as loss
            # rather than aborting the round.
            fam.send_errors += 1
            rnd.sent += 1
            return None
        except OSError as exc:
            return exc
        pending[seq] = (rnd, index, rnd.target, serial, time.monotonic())
        rnd.seqs.append(seq)
        rnd.sent += 1
        rnd.waiter.remaining += 1
        return None

    def _tick(self, rnd: EchoRound, index: int, retry_until: float = 0.0) -> None:
        """Send echo index of a single round, then arm the timer for the next one."""
        waiter = rnd.waiter
        if waiter.future.done():  # closed, or the caller went away
            return
        error = self._emit(rnd, index, *self._payload(rnd.size))
        loop = waiter.future.get_loop()
        if error is not None:
            if _transient(error):
                delay = _retry_delay(rnd.family, error)
                now = loop.time()
                if not retry_until:  # queue full: briefly; sequence space: until echoes expire
                    window = _MAX_RETRY_SECONDS if error is _SEQ_FULL else rnd.timeout + 0.5
                    retry_until = now + window
                if now + delay < retry_until:
                    rnd.handle = loop.call_at(now + delay, self._tick, rnd, index, retry_until)
                    return
            rnd.error = f"send failed: {error}"
            rnd.family.send_errors += 1
        elif index + 1 < len(rnd.rtts):
            at = rnd.start + (index + 1) * rnd.spacing
            rnd.handle = loop.call_at(at, self._tick, rnd, index + 1)
            return
        waiter.sending = False
        if waiter.remaining == 0:
            waiter.finish()
        else:
            rnd.handle = loop.call_at(loop.time() + rnd.timeout, waiter.finish)

    async def _send_rounds(
        self,
        loop: asyncio.AbstractEventLoop,
        rounds: list[EchoRound],
        waiter: _Waiter,
        count: int,
        spacing: float,
        timeout: float,
        size: int,
    ) -> None:
        start = loop.time()
        emit = self._emit
        padding, pad_sum = self._payload(size)
        for index in range(count):
            if index:
                delay = start + index * spacing - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            batch = 0
            for rnd in rounds:
                if waiter.future.done():  # closed
                    return
                if rnd.error is not None:
                    continue
                error = emit(rnd, index, padding, pad_sum)
                if error is not None:
                    error = await self._emit_again(rnd, index, error)
                    if error is not None:
                        rnd.error = f"send failed: {error}"
                        rnd.family.send_errors += 1
                        continue
                batch += 1
                if batch >= SEND_BATCH:
                    batch = 0
                    await asyncio.sleep(0)
        waiter.sending = False
        if waiter.remaining == 0:
            waiter.finish()
        else:
            waiter.handle = loop.call_at(loop.time() + timeout, waiter.finish)

    async def _emit_again(self, rnd: EchoRound, index: int, error: OSError) -> OSError | None:
        """Retry a send that found the queue or the sequence space full, for a bounded time."""
        start = time.monotonic()
        deadline = start + rnd.timeout + 0.5
        while _transient(error):
            delay = _retry_delay(rnd.family, error)
            now = time.monotonic()
            deadline = min(max(deadline, now + delay + 0.5), start + _MAX_RETRY_SECONDS)
            if now + delay >= deadline:
                break
            await asyncio.sleep(delay)
            error = self._emit(rnd, index, *self._payload(rnd.size))
            if error is None:
                return None
        return error

    def _attach(self, fam: _Family, loop: asyncio.AbstractEventLoop) -> None:
        if fam.loop is not None and not fam.loop.is_closed():
            fam.loop.remove_reader(fam.fd)
        loop.add_reader(fam.fd, _on_readable, fam)
        fam.loop = loop


def _on_readable(fam: _Family) -> None:
    recv = fam.sock.recvfrom
    pending = fam.pending
    raw4 = fam.raw4
    ident = fam.ident
    check_ident = fam.mode == "raw"
    reply_type = ICMP_ECHO_REPLY if fam.req_type == ICMP_ECHO_REQUEST else ICMP6_ECHO_REPLY
    monotonic = time.monotonic
    # Bounded per wake-up so a flood cannot starve the loop; the fd stays readable.
    for _ in range(READ_BATCH):
        try:
            data, src = recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            continue  # a datagram socket reports an ICMP error once as a socket error
        now = monotonic()
        if not data:
            continue
        off = (data[0] & 0x0F) << 2 if raw4 else 0
        if len(data) < off + 8 or data[off] != reply_type:
            continue
        rid, seq = _ID_SEQ(data, off + 4)
        if check_ident and rid != ident:
            continue  # another process's echo (every raw socket sees every reply)
        entry = pending.get(seq)
        if entry is None:
            fam.unmatched += 1
            continue
        rnd, index, addr, serial, sent = entry
        if src[0] != addr or (
            serial is not None and (len(data) < off + 16 or _SERIAL(data, off + 8)[0] != serial)
        ):
            fam.unmatched += 1
            continue
        del pending[seq]
        rtt = now - sent
        if rtt > rnd.timeout:
            fam.late += 1  # the echo counts as lost
            continue
        rnd.rtts[index] = rtt
        rnd.received += 1
        waiter = rnd.waiter
        waiter.remaining -= 1
        if waiter.remaining == 0 and not waiter.sending:
            waiter.finish()


def _packet(fam: _Family, seq: int, padding: bytes) -> bytes:
    csum = 0
    if fam.raw4:
        csum = checksum(_HDR.pack(fam.req_type, 0, 0, fam.ident, seq) + padding)
    return _HDR.pack(fam.req_type, 0, csum, fam.ident, seq) + padding


def _retry_delay(fam: _Family, error: OSError) -> float:
    """Seconds to wait before sending again; a full sequence space first drops lost echoes."""
    if error is not _SEQ_FULL:
        return 0.001
    # Echoes past their timeout are lost whatever comes: free their numbers now rather than
    # when their round or sweep ends (a sweep of 65,536+ echoes would otherwise wait for itself).
    now = time.monotonic()
    pending = fam.pending
    expired = []
    next_expiry = float("inf")
    for seq, (rnd, _index, _addr, _serial, sent) in pending.items():
        expiry = sent + rnd.timeout
        if expiry < now:
            expired.append(seq)
        elif expiry < next_expiry:
            next_expiry = expiry
    for seq in expired:
        del pending[seq]
    return 0.0 if expired else max(next_expiry - now, 0.001)


def _transient(error: OSError) -> bool:
    """A full send queue (EAGAIN, ENOBUFS) or sequence space: worth a retry shortly."""
    return isinstance(error, BlockingIOError | InterruptedError) or error.errno == errno.ENOBUFS


def _check(count: int, size: int) -> None:
    if not 1 <= count <= _SEQ_SPACE // 2:
        raise ValueError(f"count must be 1..{_SEQ_SPACE // 2}, not {count}")
    if not 0 <= size <= 65000:
        raise ValueError(f"size must be 0..65000 bytes, not {size}")


def _forget(rnd: EchoRound) -> None:
    pending = rnd.family.pending
    for seq in rnd.seqs:
        entry = pending.get(seq)
        if entry is not None and entry[0] is rnd:
            del pending[seq]


def _literal(address: str) -> str | None:
    for af in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_ntop(af, socket.inet_pton(af, address))
        except OSError:
            pass
    return None


def _scope_id(scope: str) -> int:
    if not scope:
        return 0
    return int(scope) if scope.isdigit() else socket.if_nametoindex(scope)


def _open_socket(af: int, kinds: list[str]) -> _Family | str:
    v6 = af == socket.AF_INET6
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    name = "IPv6" if v6 else "IPv4"
    errors = []
    for kind in kinds:
        stype = socket.SOCK_RAW if kind == "raw" else socket.SOCK_DGRAM
        try:
            sock = socket.socket(af, stype, proto)
        except OSError as exc:
            errors.append(f"{name} {kind}: {exc}")
            continue
        sock.setblocking(False)
        _set_buffer(sock, _SO_RCVBUFFORCE, socket.SO_RCVBUF, RCVBUF_BYTES)
        _set_buffer(sock, _SO_SNDBUFFORCE, socket.SO_SNDBUF, SNDBUF_BYTES)
        if kind == "raw":
            # Only echo replies: on loopback the socket would also get our own requests.
            if v6:
                words = [0xFFFFFFFF] * 8
                words[ICMP6_ECHO_REPLY >> 5] &= ~(1 << (ICMP6_ECHO_REPLY & 31))
                sock.setsockopt(proto, _ICMP6_FILTER, struct.pack("8I", *words))
            else:
                mask = ~(1 << ICMP_ECHO_REPLY) & 0xFFFFFFFF
                sock.setsockopt(_SOL_RAW, _ICMP_FILTER, struct.pack("I", mask))
        return _Family(sock, kind, v6)
    return "; ".join(errors)


def _set_buffer(sock: socket.socket, force: int, plain: int, size: int) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, force, size)  # root: beyond net.core.rmem_max
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, plain, size)


def _unavailable_message(errors: list[str]) -> str:
    low, high = _ping_group_range()
    gid = os.getgid()
    # Never advise setcap on the system Python: every Python program would get raw sockets.
    return (
        f"cannot open an ICMP socket ({'; '.join(errors)}). Give netwatch alone the right to "
        "ping, one of: (1) under systemd, AmbientCapabilities=CAP_NET_RAW in its unit "
        "(docs/security.md); (2) a venv with its own interpreter copy "
        "(`python3 -m venv --copies /opt/netwatch/.venv`) and "
        "`setcap cap_net_raw+ep /opt/netwatch/.venv/bin/python3`; (3) datagram ICMP for "
        f"netwatch's group only: `sysctl -w net.ipv4.ping_group_range='{gid} {gid}'` "
        f"(now {low} {high})"
    )


def _ping_group_range() -> tuple[str, str]:
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as f:
            low, high = f.read().split()
            return low, high
    except (OSError, ValueError):
        return "?", "?"


async def probe(device: Device, settings: PingSettings, pinger: Pinger) -> PingObservation:
    """Ping one device once with the configured round (blackbox_exporter prober shape)."""
    started = time.time()
    t0 = time.monotonic()
    result = await pinger.ping(
        device.address,
        count=settings.count,
        spacing=settings.spacing,
        timeout=settings.timeout,
        size=settings.size,
    )
    return PingObservation(device.name, started, result, time.monotonic() - t0)
