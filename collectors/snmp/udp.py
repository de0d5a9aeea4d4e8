"""The engine's UDP socket: every answer queued is read at each wake-up, in batches.

asyncio's datagram transport reads one datagram per turn of the event loop. At 50,000 devices
with a fifth polled over SNMP (~500 answers a second) a busy loop's turns came slower than the
answers, the socket's 208 KiB queue overflowed and the kernel dropped ~2,000 answers per 30 s
(issue 10; each one a re-send, or a halved walk for a shared GETBULK). Here one recvmmsg(2)
(collectors/icmp_wire/mmsg.py) reads up to BATCH datagrams; a wake-up reads at most
MAX_PER_WAKEUP before the loop's other work gets a turn. The queue is short (RCVBUF_BYTES): an
answer that waits in it past its timeout costs a re-send, and the engine sheds late answers by
request-id before decoding them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import struct
from collections.abc import Callable

from netwatch.collectors.icmp_wire import mmsg

# A short queue on purpose. The kernel counts twice this against each answer's buffer (~1-2
# KiB for a small answer, ~2-4 KiB for a 1.4 KB one): ~100-250 answers, a fraction of a second
# at the 50k run's ~500 a second. With a 2 MiB queue and 512 answers a wake-up (and 4 MiB and
# 1,024, in an earlier try) the 50k run collapsed: the queue held 1-4 MiB, the ICMP socket's
# overflowed and every village fired (docs/performance.md, branch snmprecv). Likely, not proven
# by a count: answers waited in the queue past the 2 s timeout and were asked again. A full
# short queue makes the kernel drop answers for free, before they cost the loop anything.
RCVBUF_BYTES = 128 << 10
BATCH = 32  # datagrams per recvmmsg call
MAX_PER_WAKEUP = 64  # then the loop's other work (the ICMP socket) gets a turn
DATA_BYTES = 65535  # an SNMP answer fits a UDP datagram; anything longer is truncated: dropped
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # root: beyond net.core.rmem_max
_SO_MEMINFO, _SK_MEMINFO_DROPS = 55, 8  # linux/sock_diag.h: the socket's drop counter
_MSG_TRUNC = 0x20
_EMPTY = (-errno.EAGAIN, -errno.EWOULDBLOCK, -errno.EINTR)
_NAME_BYTES = 28  # sockaddr_in6; sockaddr_in fits too
_CTRL_BYTES = 16  # Inbox wants room for a control message; this socket asks for none

Deliver = Callable[[bytes, tuple[str, int]], None]


class AnswerSocket:
    """A non-blocking UDP socket bound to (local, 0); deliver(data, (host, port)) per datagram."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, family: int, local: str, deliver: Deliver
    ) -> None:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, RCVBUF_BYTES)
            except OSError:  # not root: as much as net.core.rmem_max allows
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
            sock.bind((local, 0))
        except OSError:
            sock.close()
            raise
        self._sock = sock
        self._fd = sock.fileno()
        self._loop = loop
        self._deliver = deliver
        self._family = family
        self._names: dict[bytes, tuple[str, int]] = {}  # raw sockaddr → (host, port)
        self._inbox: mmsg.Inbox | None = None
        if mmsg.available():
            self._inbox = mmsg.Inbox(BATCH, DATA_BYTES, _NAME_BYTES, _CTRL_BYTES)
        self._closed = False
        self.wakeups = 0  # read calls of the loop (each reads the queue dry, up to a bound)
        self.truncated = 0  # datagrams longer than DATA_BYTES
        loop.add_reader(self._fd, self._read)

    def _read(self) -> None:
        self.wakeups += 1
        if self._inbox is None:
            self._read_each()
            return
        inbox, deliver, fd = self._inbox, self._deliver, self._fd
        data, names = inbox.data, inbox.names
        read = 0
        while read < MAX_PER_WAKEUP:
            got = inbox.receive(fd)
            if got == 0 or got in _EMPTY:
                return
            if got < 0:  # an ICMP error queued for an earlier send: that request times out
                read += 1
                continue
            lengths = inbox.lengths(got)
            flags = inbox.mm[6 : 8 * got : 8]
            for i in range(got):
                if flags[i] & _MSG_TRUNC:
                    self.truncated += 1
                    continue
                start = i * DATA_BYTES
                deliver(bytes(data[start : start + lengths[i]]), self._name(names, i))
            read += got
            if got < BATCH:
                return

    def _name(self, names: bytearray, i: int) -> tuple[str, int]:
        raw = bytes(names[i * _NAME_BYTES : (i + 1) * _NAME_BYTES])
        addr = self._names.get(raw)
        if addr is None:
            port = struct.unpack_from("!H", raw, 2)[0]
            if self._family == socket.AF_INET6:
                addr = (socket.inet_ntop(socket.AF_INET6, raw[8:24]), port)
            else:
                addr = (socket.inet_ntop(socket.AF_INET, raw[4:8]), port)
            if len(self._names) >= 65536:  # agents come and go with the inventory
                self._names.clear()
            self._names[raw] = addr
        return addr

    def _read_each(self) -> None:
        recvfrom, deliver = self._sock.recvfrom, self._deliver
        for _ in range(MAX_PER_WAKEUP):
            try:
                data, addr = recvfrom(DATA_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # an ICMP error queued for an earlier send: that request times out
                continue
            deliver(data, (addr[0], addr[1]))

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        """Send now; a datagram the kernel refuses (full buffer, unreachable) times out."""
        with contextlib.suppress(OSError):
            self._sock.sendto(data, addr)

    def drops(self) -> int:
        """Datagrams the kernel dropped on this socket (its queue was full), since it opened."""
        try:
            info = self._sock.getsockopt(socket.SOL_SOCKET, _SO_MEMINFO, 4 * 9)
        except OSError:
            return 0
        return int(struct.unpack_from("=I", info, 4 * _SK_MEMINFO_DROPS)[0])

    def is_closing(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._loop.remove_reader(self._fd)
            self._sock.close()

    def get_extra_info(self, name: str, default: object = None) -> object:
        """As an asyncio transport's: "sockname" and "socket" (tests, diagnostics)."""
        if name == "sockname":
            return self._sock.getsockname()
        return self._sock if name == "socket" else default
