"""Path localisation with scapy in test namespaces, checked against iputils ping -t (the peer)."""

from __future__ import annotations

import re
import socket
import struct
import time

import pytest

from netwatch.alerting import trace_filter
from netwatch.alerting.traceroute import TRACE_ID, trace
from tests.helpers.netns import Netlab, requires_root
from tests.helpers.village_lab import District

pytestmark = [requires_root, pytest.mark.root]


def ping_ttl_hop(district: District, address: str, ttl: int) -> str | None:
    """Who answers an echo sent with this TTL, according to iputils ping."""
    out = district.core.run("ping", "-n", "-c", "1", "-W", "1", "-t", str(ttl), address,
                            check=False).stdout  # fmt: skip
    m = re.search(r"From (\S+) icmp_seq=\d+ (Time to live exceeded|Destination \w+ Unreachable)",
                  out)  # fmt: skip
    return m.group(1) if m else None


def test_reached_and_broken_paths():
    with Netlab() as lab:
        district = District(lab, villages=1)
        ap = "127.102.1.2"
        whole = district.core.call(trace, ap, 8, 0.5)
        assert whole.reached and whole.describe() is None
        # Hops before the AP: the POP, then the village router (as ping -t sees them).
        assert whole.hops == {1: ping_ttl_hop(district, ap, 1), 2: ping_ttl_hop(district, ap, 2)}
        assert whole.hops == {1: "127.100.0.2", 2: "127.101.1.2"}

        district.village_links[1].set_up(False)  # POP ↔ village router cut
        broken = district.core.call(trace, ap, 8, 0.5)
        assert not broken.reached
        assert broken.last_hop == ping_ttl_hop(district, ap, 3) == "127.100.0.2"
        assert broken.describe() == "127.100.0.2 (hop 1)"


def test_first_link_cut_breaks_at_hop_0():
    with Netlab() as lab:
        district = District(lab, villages=1)
        district.uplink.set_up(False, side="b")  # the POP's end of core's only link
        broken = district.core.call(trace, "127.101.1.2", 4, 0.3)
        assert not broken.reached and broken.hops == {}
        assert broken.describe() == "127.100.0.1 (hop 0)"  # core's own address on that link
        # Once ARP for the POP has failed, core's own stack answers "host unreachable": still
        # hop 0, not a hop of the path.
        district.core.run("ip", "neigh", "flush", "dev", district.uplink.dev_a)
        again = district.core.call(trace, "127.101.1.2", 2, 4.0, 1)  # past ARP's 3 s
        assert again.describe() == "127.100.0.1 (hop 0)"


def _echo(ident: int, seq: int) -> bytes:
    """An ICMP echo request with its RFC 1071 checksum (computed here, not by netwatch)."""
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"netwatch"
    words = sum(struct.unpack(f"!{len(body) // 2}H", body))
    words = (words & 0xFFFF) + (words >> 16)
    return struct.pack("!BBHHH", 8, 0, ~(words + (words >> 16)) & 0xFFFF, ident, seq) + b"netwatch"


def _filtered_receive(ident: int, sends: list[tuple[str, int, int]]) -> list[tuple[int, int, str]]:
    """Open a filtered trace socket, send (address, identifier, ttl) echoes from a raw
    socket, and return what the filtered socket received: (ICMP type, id field, source)."""
    ins = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        trace_filter.attach(ins, ident)
        for seq, (address, echo_id, ttl) in enumerate(sends):
            raw.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
            raw.sendto(_echo(echo_id, seq), (address, 0))
        got = []
        ins.settimeout(1.0)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                frame = ins.recv(2048)
            except TimeoutError:
                break
            ip = frame[14:]  # veth: an Ethernet header before the IP header
            off = (ip[0] & 0x0F) * 4
            got.append((ip[off], struct.unpack("!H", ip[off + 4 : off + 6])[0],
                        socket.inet_ntoa(ip[12:16])))  # fmt: skip
        return got
    finally:
        ins.close()
        raw.close()


def test_trace_socket_filter_passes_only_what_a_trace_uses():
    """The kernel filter (trace_filter) keeps the trace's echo replies and ICMP errors and
    drops other echo replies (the echo stream's) and our own outgoing packets."""
    with Netlab() as lab:
        district = District(lab, villages=1)
        pop, village_router = "127.100.0.2", "127.101.1.2"
        got = district.core.call(
            _filtered_receive,
            TRACE_ID,
            [
                (pop, 0x1234, 64),  # another prober's echo: its reply must not pass
                (pop, TRACE_ID, 64),  # the trace's echo: its reply passes
                (village_router, TRACE_ID, 1),  # TTL 1: the POP answers time exceeded
                (pop, 0x4321, 64),
            ],
        )
        replies = [(t, i, src) for t, i, src in got if t == 0]
        exceeded = [src for t, _i, src in got if t == 11]
        assert replies == [(0, TRACE_ID, pop)]  # one reply: ours; none of 0x1234/0x4321
        assert exceeded == [pop]
        assert all(t in (0, 11) for t, _i, _src in got)  # no outgoing echo request (type 8)
