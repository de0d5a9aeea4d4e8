"""Forged ICMP echo replies for the matching-rule tests (sent on a raw IPPROTO_RAW socket)."""

from __future__ import annotations

import socket
import struct

from netwatch.collectors.icmp_wire.sockets import checksum
from tests.helpers.netns import Namespace, Netlab


def forge_reply(src: str, dst: str, ident: int, seq: int, payload: bytes) -> bytes:
    """An IPv4 echo reply with a chosen source (IP_HDRINCL); the kernel fills length and sum."""
    icmp = struct.pack("!BBHHH", 0, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0, 64, socket.IPPROTO_ICMP, 0,
        socket.inet_aton(src), socket.inet_aton(dst),
    )  # fmt: skip
    return ip + icmp


def silent_host_namespace(lab: Netlab, key: str) -> Namespace:
    """A namespace where 127.0.0.2 and 127.0.0.3 exist and 127.0.0.2 never answers an echo:
    only the replies a test forges for it come back."""
    ns = lab.add(key)
    for addr in ("127.0.0.2/32", "127.0.0.3/32"):
        ns.run("ip", "addr", "add", addr, "dev", "lo")
    ns.nft(
        """
        table inet nwforge {
            chain input {
                type filter hook input priority 0; policy accept;
                icmp type echo-request ip daddr 127.0.0.2 drop
            }
        }
        """
    )
    return ns
