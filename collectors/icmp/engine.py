"""The ICMP echo engine: one shared socket per address family for every target.

A round's echoes are sent from timer callbacks (one Future per round), a sweep's in batches
that yield to the loop so the reader drains the socket; replies are matched in rounds.py.
Just over 400 lines: the echo stream's send, drain and literal binding sit beside the rounds'
and sweeps' because all three share one socket's sequence space and reader.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import struct
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TypedDict

from netwatch.collectors.icmp.observation import PingResult
from netwatch.collectors.icmp.resolve import (
    Resolver,
    Target,
    bind_literal,
    default_resolver,
    resolve,
)
from netwatch.collectors.icmp.rounds import (
    MAX_RETRY_SECONDS,
    SEQ_FULL,
    SEQ_SPACE,
    Binding,
    EchoRound,
    Waiter,
    check_args,
    forget,
    on_readable,
    retry_delay,
    transient,
)
from netwatch.collectors.icmp_wire.sockets import (
    SERIAL_BYTES,
    EchoSocket,
    IcmpUnavailable,
    literal,
    open_socket,
    unavailable_message,
)

if TYPE_CHECKING:
    from netwatch.collectors.icmp_wire.sockets import EchoOwner

FILTERED = -1  # send(): a firewall on this host refused the echo (counts as sent and lost)
SEND_BATCH = 64  # sends between yields to the loop, so the reader drains the socket
RESOLVE_TIMEOUT = 5.0  # seconds a name may take to resolve
_CLOSED = "send failed: the pinger is closed"
_UNBOUND = OSError(errno.EDESTADDRREQ, "no resolved address")

__all__ = ["IcmpUnavailable", "Pinger", "Resolver", "SocketStats", "default_resolver"]


class SocketStats(TypedDict):
    family: str  # ipv4 | ipv6
    mode: str  # raw | dgram
    outstanding: int
    late_replies: int
    unmatched_replies: int
    send_errors: int


class Pinger:
    """Sends ICMP echoes to any number of hosts over one socket per address family."""

    def __init__(self, families: dict[int, EchoSocket | str], resolver: Resolver) -> None:
        self._families = families  # AF_INET/AF_INET6 -> EchoSocket, or why it is unavailable
        self._resolver = resolver
        self._serial = int.from_bytes(os.urandom(8), "big")
        self._payloads: dict[int, tuple[bytes, int]] = {}  # size -> (padding, its word sum)
        self._waiters: set[Waiter] = set()  # rounds and sweeps running now
        # A stuck system resolver must not hold a round (or a sweep) for its own timeouts.
        self.resolve_timeout = RESOLVE_TIMEOUT
        self.closed = False
        first = next((f for f in families.values() if isinstance(f, EchoSocket)), None)
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
        families: dict[int, EchoSocket | str] = {}
        errors = []
        for af in (socket.AF_INET, socket.AF_INET6):
            opened = open_socket(af, kinds)
            families[af] = opened
            if isinstance(opened, str):
                errors.append(opened)
        if not any(isinstance(f, EchoSocket) for f in families.values()):
            raise IcmpUnavailable(unavailable_message(errors))
        return cls(families, resolver or default_resolver)

    def stats(self) -> list[SocketStats]:
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
            if isinstance(fam, EchoSocket)
        ]

    def close(self) -> None:
        """Close the sockets; pings still running end at once with what they have."""
        self.closed = True
        for waiter in list(self._waiters):
            waiter.finish()
        for fam in self._families.values():
            if isinstance(fam, EchoSocket):
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
        check_args(count, size)
        loop = asyncio.get_running_loop()
        waiter = Waiter(loop)
        rnd = EchoRound(address, count, timeout, waiter)
        if not self.bind_literal(rnd):
            await self._resolve([rnd])
        if self.closed and rnd.error is None:
            rnd.error = _CLOSED
        bound = rnd.bound
        if rnd.error is not None or bound is None:
            return rnd.result()
        if bound.sock.loop is not loop:
            self._attach(bound.sock, loop)
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
            forget(rnd)
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
        check_args(count, size)
        loop = asyncio.get_running_loop()
        waiter = Waiter(loop)
        rounds = [EchoRound(a, count, timeout, waiter) for a in addresses]
        await self._resolve(rounds)
        live = []
        for rnd in rounds:
            if self.closed and rnd.error is None:
                rnd.error = _CLOSED
            if rnd.error is None and rnd.bound is not None:
                rnd.size = size
                live.append(rnd)
                if rnd.bound.sock.loop is not loop:
                    self._attach(rnd.bound.sock, loop)
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
                forget(rnd)
        return rounds

    async def _resolve(self, rounds: list[EchoRound]) -> None:
        await resolve(rounds, self._families, self._resolver, self.resolve_timeout)

    async def bind(self, targets: Sequence[Target]) -> None:
        """Bind each target to its socket, names resolved at once; a failure sets .error."""
        await resolve(targets, self._families, self._resolver, self.resolve_timeout)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Read the replies of every open socket on loop."""
        for fam in self._families.values():
            if isinstance(fam, EchoSocket) and fam.loop is not loop:
                self._attach(fam, loop)

    def family(self, af: int) -> EchoSocket | None:
        """The open socket of address family af (None: unavailable)."""
        fam = self._families.get(af)
        return fam if isinstance(fam, EchoSocket) else None

    def bind_literal(self, target: Target) -> bool:
        """Bind target now if its address is a literal; False for a name (see bind())."""
        bare, _, scope = target.address.partition("%")
        lit = literal(bare)
        if lit is None:
            return False
        bind_literal(target, self._families, lit, scope)
        return True

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

    def send(self, owner: EchoOwner, index: int, bound: Binding, size: int) -> int | OSError:
        """Send one echo to bound now for owner: its sequence number, FILTERED, or the error.

        The failure is returned, not raised; the reply or loss is the owner's to handle.
        """
        padding, pad_sum = self._payload(size)
        fam = bound.sock
        pending = fam.pending
        if len(pending) >= SEQ_SPACE:
            return SEQ_FULL
        seq = fam.seq
        while seq in pending:
            seq = (seq + 1) & 0xFFFF
        fam.seq = (seq + 1) & 0xFFFF
        if size >= SERIAL_BYTES:
            serial = self._serial = (self._serial + 1) & 0xFFFFFFFFFFFFFFFF
            packet = fam.packet_serial(seq, serial, padding, pad_sum)
        else:
            serial = None
            packet = fam.packet(seq, padding)
        # Stamped before the send: a loopback reply can be back before sendto() returns.
        wall, mono = time.time(), time.monotonic()
        try:
            fam.sock.sendto(packet, bound.sockaddr)
        except PermissionError:
            # A firewall on this host dropped the echo (an nftables/iptables OUTPUT rule):
            # as ping(8) does, it counts as sent and lost, so a filtered path reads as loss.
            fam.send_errors += 1
            return FILTERED
        except OSError as exc:
            return exc
        pending[seq] = (owner, index, bound.target, serial, wall, mono)
        return seq

    def _emit(self, rnd: EchoRound, index: int) -> OSError | None:
        """Send echo index of rnd now and register it; a failure is returned, not raised."""
        bound = rnd.bound
        if bound is None:  # only bound rounds send; a bug here must not raise into the loop
            return _UNBOUND
        got = self.send(rnd, index, bound, rnd.size)
        if isinstance(got, OSError):
            return got
        rnd.sent += 1
        if got != FILTERED:
            rnd.seqs.append(got)
            rnd.waiter.remaining += 1
        return None

    def _tick(self, rnd: EchoRound, index: int, retry_until: float = 0.0) -> None:
        """Send echo index of a single round, then arm the timer for the next one."""
        waiter = rnd.waiter
        bound = rnd.bound
        if waiter.future.done() or bound is None:  # closed, or the caller went away
            return
        error = self._emit(rnd, index)
        loop = waiter.future.get_loop()
        if error is not None:
            if transient(error):
                delay = retry_delay(bound.sock, error)
                now = loop.time()
                if not retry_until:  # queue full: briefly; sequence space: until echoes expire
                    window = MAX_RETRY_SECONDS if error is SEQ_FULL else rnd.timeout + 0.5
                    retry_until = now + window
                if now + delay < retry_until:
                    rnd.handle = loop.call_at(now + delay, self._tick, rnd, index, retry_until)
                    return
            rnd.error = f"send failed: {error}"
            bound.sock.send_errors += 1
        elif index + 1 < len(rnd.rtts):
            at = rnd.start + (index + 1) * rnd.spacing
            rnd.handle = loop.call_at(at, self._tick, rnd, index + 1)
            return
        waiter.sending = False
        if waiter.remaining == 0:
            waiter.finish()
        else:
            rnd.handle = loop.call_at(loop.time() + rnd.timeout, self._expire, waiter)

    async def _send_rounds(
        self,
        loop: asyncio.AbstractEventLoop,
        rounds: list[EchoRound],
        waiter: Waiter,
        count: int,
        spacing: float,
        timeout: float,
        size: int,
    ) -> None:
        start = loop.time()
        emit = self._emit
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
                error = emit(rnd, index)
                if error is not None:
                    error = await self._emit_again(rnd, index, error)
                    if error is not None:
                        rnd.error = f"send failed: {error}"
                        if rnd.bound is not None:
                            rnd.bound.sock.send_errors += 1
                        continue
                batch += 1
                if batch >= SEND_BATCH:
                    batch = 0
                    await asyncio.sleep(0)
        waiter.sending = False
        if waiter.remaining == 0:
            waiter.finish()
        else:
            waiter.handle = loop.call_at(loop.time() + timeout, self._expire, waiter)

    def drain(self) -> None:
        """Read every reply the kernel holds now (before anything is declared lost)."""
        for fam in self._families.values():
            # A socket with no echo outstanding has nothing to credit: its reader will do.
            if isinstance(fam, EchoSocket) and fam.loop is not None and fam.pending:
                on_readable(fam)

    def _expire(self, waiter: Waiter) -> None:
        # A loop that stalled past the deadline may still hold replies that came in time.
        self.drain()
        waiter.finish()

    async def _emit_again(self, rnd: EchoRound, index: int, error: OSError) -> OSError | None:
        """Retry a send that found the queue or the sequence space full, for a bounded time."""
        if rnd.bound is None:
            return error
        sock = rnd.bound.sock
        start = time.monotonic()
        deadline = start + rnd.timeout + 0.5
        while transient(error):
            delay = retry_delay(sock, error)
            now = time.monotonic()
            deadline = min(max(deadline, now + delay + 0.5), start + MAX_RETRY_SECONDS)
            if now + delay >= deadline:
                break
            await asyncio.sleep(delay)
            again = self._emit(rnd, index)
            if again is None:
                return None
            error = again
        return error

    def _attach(self, fam: EchoSocket, loop: asyncio.AbstractEventLoop) -> None:
        if fam.loop is not None and not fam.loop.is_closed():
            fam.loop.remove_reader(fam.fd)
        loop.add_reader(fam.fd, on_readable, fam)
        fam.loop = loop
