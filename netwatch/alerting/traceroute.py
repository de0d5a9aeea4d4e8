"""Path localisation: a one-shot ICMP traceroute (scapy) toward a village router.

Blocking (scapy waits on its sockets): the engine runs it in a thread executor. Only the
inventory's own device addresses are ever traced.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from netwatch.alerting import trace_filter

_lock = threading.Lock()  # scapy's route table is process-global
TRACE_ID = 0x6E77  # ICMP identifier of a trace's echoes ("nw")


@dataclass(slots=True)
class Path:
    target: str
    source: str = ""  # our own address on the way (hop 0)
    hops: dict[int, str] = field(default_factory=dict)  # TTL → address that answered
    reached: bool = False  # the target itself answered

    @property
    def last_hop(self) -> str | None:
        """The farthest hop that answered short of the target, or None."""
        if not self.hops:
            return None
        ttl = max(self.hops)
        return self.hops[ttl]

    def describe(self) -> str | None:
        """Path break as `ADDR (hop N)`, the last hop that answered; None if the target did.

        When not even the first hop answers, the break is right after ourselves: hop 0.
        """
        if self.reached:
            return None
        if not self.hops:
            return f"{self.source or 'monitoring host'} (hop 0)"
        last = self.hops[max(self.hops)]
        # A router past which nothing routes answers "unreachable" for every later TTL too.
        ttl = min(t for t, a in self.hops.items() if a == last)
        return f"{last} (hop {ttl})"


def trace(address: str, max_hops: int = 16, timeout: float = 1.0, attempts: int = 2) -> Path:
    """Send one ICMP echo per TTL 1..max_hops at once; collect who answered.

    A silent try is repeated once after a second: routers send "unreachable" at most about
    once a second per peer (the kernel's ip_error token bucket).
    """
    path = _trace_once(address, max_hops, timeout)
    for _ in range(attempts - 1):
        if path.reached or path.hops:
            break
        time.sleep(1.0)
        path = _trace_once(address, max_hops, timeout)
    return path


def _trace_once(address: str, max_hops: int, timeout: float) -> Path:
    from scapy.config import conf
    from scapy.layers.inet import ICMP, IP
    from scapy.supersocket import L3RawSocket

    with _lock:
        # scapy's route table only fills IP.src here; the kernel routes (L3RawSocket), which
        # works in any network namespace and on 127.x veth links, where scapy's ARP would not.
        conf.route.resync()
        src = conf.route.route(address)[1]
    path = Path(address, src)
    probes = IP(src=src, dst=address, ttl=(1, max_hops)) / ICMP(id=TRACE_ID)
    sock = L3RawSocket()  # one per trace: traces run side by side, each matches its own
    try:
        # Before anything is sent: the kernel passes only what this trace can use (scapy
        # would otherwise decode every packet of the host, the echo stream's included).
        trace_filter.attach(sock.ins, TRACE_ID)
        answered, _ = sock.sr(probes, timeout=timeout, verbose=0)
    finally:
        sock.close()
    reached_at: int | None = None
    for sent, got in answered:
        icmp = got.getlayer(ICMP)
        if icmp is None:
            continue
        if icmp.type == 0 and got.src == address:  # echo reply: the target
            reached_at = sent.ttl if reached_at is None else min(reached_at, sent.ttl)
        elif icmp.type in (11, 3) and got.src != src:  # time exceeded, unreachable
            # (our own stack's "host unreachable", when the next hop's ARP fails, is hop 0)
            path.hops[sent.ttl] = got.src
    if reached_at is not None:
        path.reached = True
        path.hops = {t: a for t, a in path.hops.items() if t < reached_at}
    return path


def last_hop_text(address: str, max_hops: int = 16, timeout: float = 1.0) -> str | None:
    """The engine's tracer: where the path to address breaks, or None if it does not."""
    return trace(address, max_hops, timeout).describe()
