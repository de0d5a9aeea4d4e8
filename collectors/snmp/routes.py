"""Which local address the kernel would send from toward a target, asked without sending.

The poller binds one socket per such address instead of one on 0.0.0.0, so it takes
datagrams only on the addresses its devices are reached through.
"""

from __future__ import annotations

import socket
import time

ROUTE_TTL = 300.0  # seconds a target's source address is trusted before asking again
_MAX_ENTRIES = 100_000


class SourceAddresses:
    """target address → our source address toward it, looked up again after ROUTE_TTL."""

    def __init__(self) -> None:
        self._known: dict[str, tuple[str, float]] = {}

    def toward(self, family: int, peer: str, fallback: str) -> str:
        now = time.monotonic()
        known = self._known.get(peer)
        if known is not None and known[1] > now:
            return known[0]
        # connect() on a UDP socket asks the routing table and sends nothing. Asked again
        # after ROUTE_TTL: an interface's address or a route may change under a monitor.
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((peer, 9))
                local = str(probe.getsockname()[0])
        except OSError:
            local = fallback  # no route now: the send will fail and say so
        if len(self._known) > _MAX_ENTRIES:
            self._known.clear()
        self._known[peer] = (local, now + ROUTE_TTL)
        return local
