"""The kernel's drop counter of the engine's UDP socket: answers lost before netwatch saw them.

The engine reads its socket through asyncio's datagram transport (one datagram per turn of the
loop). A batched reader (recvmmsg, up to 512 or 64 answers a wake-up, with a 2 MiB or a 256 KiB
queue) was tried in branch snmprecv and measured at 50,000 devices: both runs collapsed (every
village fired) where main held in the same session (docs/performance.md, branch snmprecv), so
it is not used; this counter shows an operator what the queue loses. What did pay (branch
snmpcpu): a larger queue on the same reader (`widen_receive_queue`, SnmpEngine.receive_queue),
so that answers arriving while the loop is held wait instead of being dropped and asked again.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

_SO_MEMINFO, _SK_MEMINFO_DROPS = 55, 8  # linux/sock_diag.h: the socket's drop counter
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)


def widen_receive_queue(transport: asyncio.BaseTransport, size: int) -> int:
    """Ask the kernel for a receive queue of `size` bytes on the transport's socket (beyond
    net.core.rmem_max when we may: SO_RCVBUFFORCE needs CAP_NET_ADMIN); returns what the
    kernel gives (SO_RCVBUF reads back twice the size asked: the kernel's bookkeeping)."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return 0
    if size > 0:
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, size)
        except OSError:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    try:
        return int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))
    except OSError:
        return 0


def kernel_drops(transport: asyncio.BaseTransport) -> int:
    """Datagrams the kernel dropped on the transport's socket (its queue was full), or 0."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return 0
    try:
        info = sock.getsockopt(socket.SOL_SOCKET, _SO_MEMINFO, 4 * 9)
    except OSError:
        return 0
    return int(struct.unpack_from("=I", info, 4 * _SK_MEMINFO_DROPS)[0])
