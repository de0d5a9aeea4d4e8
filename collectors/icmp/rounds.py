"""Echo rounds in flight, their completion, and matching replies to them.

Replies are matched by sequence number, source address, identifier (raw sockets only: the
kernel rewrites it on datagram sockets) and a per-echo serial in the payload, so that no reply
is counted twice, for the wrong host or for a later echo that reused its sequence number.
"""

from __future__ import annotations

import asyncio
import errno
import struct
import time
from typing import NamedTuple

from netwatch.collectors.icmp.observation import PingResult
from netwatch.collectors.icmp.reader import read_batched
from netwatch.collectors.icmp_wire.sockets import (
    ICMP6_ECHO_REPLY,
    ICMP_ECHO_REPLY,
    ICMP_ECHO_REQUEST,
    SCM_TIMESTAMPNS,
    SERIAL_BYTES,
    EchoSocket,
    Sockaddr,
)

READ_BATCH = 4096  # replies read per wake-up of the reader at most
# Enough for an IPv4 header with options, the ICMP header and the serial: the rest of a longer
# reply is not needed, and a small buffer is cheaper to allocate per datagram than 64 KiB.
RECV_BYTES = 60 + 8 + SERIAL_BYTES
ANC_BYTES = 64  # room for one SCM_TIMESTAMPNS (a struct timespec) and then some
SEQ_SPACE = 1 << 16
MAX_RETRY_SECONDS = 60.0  # a send waiting for queue or sequence space gives up after this
SEQ_FULL = BlockingIOError(errno.EAGAIN, "too many echoes outstanding")

_ID_SEQ = struct.Struct("!HH").unpack_from
_SERIAL = struct.Struct("!Q").unpack_from
_TIMESPEC = struct.Struct("@ll")  # struct timespec: the kernel's receive time (CLOCK_REALTIME)


class Waiter:
    """Completion of a set of rounds: all echoes answered, or the deadline passed."""

    __slots__ = ("future", "handle", "remaining", "sending")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.future: asyncio.Future[None] = loop.create_future()
        self.remaining = 0  # echoes sent and not yet answered
        self.sending = True
        self.handle: asyncio.TimerHandle | None = None

    def finish(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


class Binding(NamedTuple):
    """Where a round's echoes go: the socket of the address family and the kernel address.

    A NamedTuple, not a frozen dataclass: one is made per host of a sweep, and 50,000 frozen
    dataclasses took 64 ms to make, these 24 ms (in-process, issue 10).
    """

    sock: EchoSocket
    sockaddr: Sockaddr
    target: str  # the resolved address, as the kernel reports reply sources


class EchoRound:
    """The echoes of one round to one host; rtts[i] is None for a lost echo.

    A round is either bound (its address resolved to a socket: `bound` set) or failed
    (`error` set); only bound rounds send, which the send paths check rather than assume.
    """

    __slots__ = (
        "address",
        "bound",
        "error",
        "handle",
        "received",
        "rtts",
        "sent",
        "seqs",
        "size",
        "spacing",
        "start",
        "timeout",
        "waiter",
    )

    def __init__(self, address: str, count: int, timeout: float, waiter: Waiter) -> None:
        self.address = address  # as given
        self.bound: Binding | None = None
        self.rtts: list[float | None] = [None] * count
        self.sent = 0
        self.received = 0
        self.error: str | None = None
        self.seqs: list[int] = []
        self.timeout = timeout
        self.waiter = waiter
        self.handle: asyncio.TimerHandle | None = None  # the next send, or the deadline
        self.spacing = 0.0
        self.size = 0
        self.start = 0.0

    def result(self) -> PingResult:
        rtts = [r for r in self.rtts if r is not None]
        return PingResult(self.address, self.sent, self.received, rtts, self.error)

    def reply(self, index: int, rtt: float, sent: float) -> None:
        """Echo index answered rtt seconds after it was sent (the pending entry is gone)."""
        if rtt > self.timeout:
            if self.bound is not None:
                self.bound.sock.late += 1  # the echo counts as lost
            return
        self.rtts[index] = rtt
        self.received += 1
        waiter = self.waiter
        waiter.remaining -= 1
        if waiter.remaining == 0 and not waiter.sending:
            waiter.finish()

    def drop(self, index: int, sent: float) -> None:
        """Echo index was given up (past its timeout): the round's deadline counts it lost."""


def on_readable(fam: EchoSocket) -> None:
    """Read the replies waiting on fam's socket and credit them to their echoes.

    The round-trip time is taken from the kernel's receive timestamp (SO_TIMESTAMPNS), so a
    reply that arrived in time is never counted late because the event loop read it late.
    """
    if fam.raw4 and read_batched(fam):
        return
    recv = fam.sock.recvmsg
    pending = fam.pending
    raw4 = fam.raw4
    ident = fam.ident
    check_ident = fam.mode == "raw"
    reply_type = ICMP_ECHO_REPLY if fam.req_type == ICMP_ECHO_REQUEST else ICMP6_ECHO_REPLY
    monotonic = time.monotonic
    # Bounded per wake-up so a flood cannot starve the loop; the fd stays readable.
    for _ in range(READ_BATCH):
        try:
            data, anc, _flags, src = recv(RECV_BYTES, ANC_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            continue  # a datagram socket reports an ICMP error once as a socket error
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
        owner, index, addr, serial, sent_wall, sent_mono = entry
        if src[0] != addr or (
            serial is not None and (len(data) < off + 16 or _SERIAL(data, off + 8)[0] != serial)
        ):
            fam.unmatched += 1
            continue
        del pending[seq]
        owner.reply(index, rtt_of(anc, sent_wall, sent_mono, monotonic()), sent_wall)


def rtt_of(
    anc: list[tuple[int, int, bytes]], sent_wall: float, sent_mono: float, now_mono: float
) -> float:
    """Seconds from the send to the kernel's receive timestamp; the read time without one.

    The timestamp is wall-clock time: a result that the monotonic clock contradicts (a step
    of the system clock in between) falls back to the read time.
    """
    elapsed = now_mono - sent_mono
    for _level, kind, blob in anc:
        if kind == SCM_TIMESTAMPNS and len(blob) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(blob)
            rtt = sec + nsec * 1e-9 - sent_wall
            if 0.0 <= rtt <= elapsed + 0.001:
                return rtt
    return elapsed


def retry_delay(fam: EchoSocket, error: OSError) -> float:
    """Seconds to wait before sending again; a full sequence space first drops lost echoes."""
    if error is not SEQ_FULL:
        return 0.001
    # Echoes past their timeout are lost whatever comes: free their numbers now rather than
    # when their round or sweep ends (a sweep of 65,536+ echoes would otherwise wait for itself).
    now = time.monotonic()
    pending = fam.pending
    expired = []
    next_expiry = float("inf")
    for seq, (owner, _index, _addr, _serial, _wall, sent) in pending.items():
        expiry = sent + owner.timeout
        if expiry < now:
            expired.append(seq)
        elif expiry < next_expiry:
            next_expiry = expiry
    for seq in expired:
        owner, index, _addr, _serial, wall, _sent = pending.pop(seq)
        owner.drop(index, wall)
    return 0.0 if expired else max(next_expiry - now, 0.001)


def transient(error: OSError) -> bool:
    """A full send queue (EAGAIN, ENOBUFS) or sequence space: worth a retry shortly."""
    return isinstance(error, BlockingIOError | InterruptedError) or error.errno == errno.ENOBUFS


def check_args(count: int, size: int) -> None:
    if not 1 <= count <= SEQ_SPACE // 2:
        raise ValueError(f"count must be 1..{SEQ_SPACE // 2}, not {count}")
    if not 0 <= size <= 65000:
        raise ValueError(f"size must be 0..65000 bytes, not {size}")


def forget(rnd: EchoRound) -> None:
    """Drop rnd's echoes still outstanding (its round is over)."""
    if rnd.bound is None:
        return
    pending = rnd.bound.sock.pending
    for seq in rnd.seqs:
        entry = pending.get(seq)
        if entry is not None and entry[0] is rnd:
            del pending[seq]
