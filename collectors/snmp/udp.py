"""The engine's UDP socket: every datagram waiting is read at each wake-up, not one.

asyncio's datagram transport reads one datagram per turn of the event loop. At 50,000 devices
with a fifth polled over SNMP (~500 answers a second) a busy loop's turns took longer than the
answers came, the socket's queue (212 KiB by default) overflowed and the kernel dropped
answers: 62,536 drops in two minutes and up to 3,202 failed polls a minute in `run_bench.py`
(issue 10), and a lost answer to a shared walk halves that agent's next requests. This socket
drains the queue at each wake-up (up to DRAIN_MAX datagrams) and asks for a larger queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

RCVBUF_BYTES = 4 << 20  # a second of answers at 50,000 devices with room to spare
DRAIN_MAX = 1024  # datagrams read in one wake-up before the loop gets a turn
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # root: beyond net.core.rmem_max


class DatagramSocket:
    """A non-blocking UDP socket bound to (local, 0); on_datagram(data, addr) per answer."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        family: int,
        local: str,
        on_datagram: Callable[[bytes, tuple[str, int]], None],
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
        self._loop = loop
        self._on_datagram = on_datagram
        self._closed = False
        loop.add_reader(sock.fileno(), self._drain)

    def _drain(self) -> None:
        recvfrom, deliver = self._sock.recvfrom, self._on_datagram
        for _ in range(DRAIN_MAX):
            try:
                data, addr = recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # an ICMP error queued for an earlier send: that request times out
                continue
            deliver(data, addr[:2])

    def sendto(self, data: bytes, addr: tuple[str, int]) -> None:
        """Send now; a datagram the kernel refuses (full buffer, unreachable) times out."""
        with contextlib.suppress(OSError):
            self._sock.sendto(data, addr)

    def is_closing(self) -> bool:
        return self._closed

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._loop.remove_reader(self._sock.fileno())
            self._sock.close()

    def get_extra_info(self, name: str, default: object = None) -> object:
        """As an asyncio transport's: "sockname" and "socket" (tests, diagnostics)."""
        if name == "sockname":
            return self._sock.getsockname()
        return self._sock if name == "socket" else default

    def receive_buffer(self) -> int:
        """The queue the kernel gives the socket (bytes; Linux reports twice the setting)."""
        return self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
