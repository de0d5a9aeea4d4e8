"""An echo responder that answers every IPv4 echo request reaching its namespace DELAY seconds
late (this kernel has no netem): run inside a test namespace with icmp_echo_ignore_all=1.

    python -m tests.helpers.echo_delayer DELAY SECONDS

Replies carry the request's destination as their source (IP_HDRINCL), so they read as the
device's own. Never early: a reply is sent at the earliest DELAY after its request was read.
"""

from __future__ import annotations

import heapq
import itertools
import select
import socket
import struct
import sys
import time

from tests.helpers.icmp_forge import forge_reply


def serve(delay: float, seconds: float) -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    tx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    rx.setblocking(False)
    queue: list[tuple[float, int, bytes, str]] = []
    order = itertools.count()
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # bounded in time
        wait = max(0.0, queue[0][0] - time.monotonic()) if queue else 0.2
        readable, _, _ = select.select([rx], [], [], wait)
        for _ in range(10_000 if readable else 0):  # bounded per wake-up
            try:
                data = rx.recv(2048)
            except BlockingIOError:
                break
            ihl = (data[0] & 0x0F) << 2
            if len(data) < ihl + 8 or data[ihl] != 8:  # echo requests only
                continue
            src, dst = socket.inet_ntoa(data[12:16]), socket.inet_ntoa(data[16:20])
            ident, seq = struct.unpack_from("!HH", data, ihl + 4)
            reply = forge_reply(dst, src, ident, seq, data[ihl + 8 :])
            heapq.heappush(queue, (time.monotonic() + delay, next(order), reply, src))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, reply, to = heapq.heappop(queue)
            tx.sendto(reply, (to, 0))


if __name__ == "__main__":
    serve(float(sys.argv[1]), float(sys.argv[2]))
