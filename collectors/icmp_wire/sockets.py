"""The shared ICMP sockets: one per address family, raw if permitted, else datagram."""

from __future__ import annotations

import os
import socket
import struct

# typing.TYPE_CHECKING without importing typing, nor asyncio: `netwatch ping`'s sweep
# (sweep.py) needs neither, and they cost its start-up ~3 ms and ~25 ms (mypy reads any
# `if TYPE_CHECKING:` as true).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from typing import Protocol

    class EchoOwner(Protocol):
        """Who waits for an echo (a round, a device's echo stream): told of its reply or loss."""

        timeout: float  # seconds after the send a reply still counts

        def reply(self, index: int, rtt: float, sent: float) -> None:
            """Echo index answered after rtt seconds (sent: its wall-clock send time)."""
            ...

        def drop(self, index: int, sent: float) -> None:
            """Echo index was given up by the socket (past its timeout, sequence space needed)."""
            ...

    # One outstanding echo: its owner, index for the owner, target address (an IPv4 address
    # as a number where collectors/icmp/batch.py sent it), payload serial (None for payloads
    # too short to carry one), and the wall-clock and monotonic send times.
    Pending = tuple[EchoOwner, int, str | int, int | None, float, float]

ICMP_ECHO_REPLY = 0
ICMP_ECHO_REQUEST = 8
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129
_SOL_RAW = 255  # linux/socket.h; socket has no constant for it
_ICMP_FILTER = 1  # linux/icmp.h
_ICMP6_FILTER = 1  # linux/icmpv6.h
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
_SO_SNDBUFFORCE = getattr(socket, "SO_SNDBUFFORCE", 32)
# Receive timestamps (linux/socket.h; Python has no constant): the kernel stamps each reply
# when it arrives, so a busy event loop that reads it late does not stretch its RTT.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
# A loopback sweep of 5,000 hosts can queue thousands of replies before we read: ~1 KiB each.
RCVBUF_BYTES = 16 << 20
SNDBUF_BYTES = 4 << 20
SERIAL_BYTES = 8  # payloads at least this long carry a per-echo serial

HDR = struct.Struct("!BBHHH")
_HDR_SERIAL = struct.Struct("!BBHHHQ").pack


Sockaddr = tuple[str, int] | tuple[str, int, int, int]  # (addr, 0) or (addr, 0, 0, scope_id)


class IcmpUnavailable(RuntimeError):
    """Neither a raw nor a datagram ICMP socket can be opened (missing privilege)."""


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class EchoSocket:
    """One shared socket of one address family, with its outstanding echoes."""

    __slots__ = (
        "csum_base",
        "fd",
        "ident",
        "inbox",
        "kernel_stamps",
        "late",
        "loop",
        "mode",
        "name",
        "pending",
        "raw4",
        "req_type",
        "send_errors",
        "seq",
        "sock",
        "unmatched",
    )

    def __init__(self, sock: socket.socket, mode: str, v6: bool, stamps: bool = False) -> None:
        self.sock = sock
        self.kernel_stamps = stamps  # replies carry the kernel's receive time
        self.fd = sock.fileno()
        self.mode = mode
        self.req_type = ICMP6_ECHO_REQUEST if v6 else ICMP_ECHO_REQUEST
        # Only raw IPv4 sockets deliver the IP header before the ICMP message, and only there
        # does the kernel leave the ICMP checksum to us.
        self.raw4 = mode == "raw" and not v6
        self.ident = int.from_bytes(os.urandom(2), "big")
        self.csum_base = (self.req_type << 8) + self.ident  # the header's fixed words
        self.seq = int.from_bytes(os.urandom(2), "big")
        self.pending: dict[int, Pending] = {}  # by sequence number
        self.loop: asyncio.AbstractEventLoop | None = None
        self.name = "ipv6" if v6 else "ipv4"
        # Rare events only, for self-metrics: counting every echo here would cost the hot path.
        self.late = 0  # replies to a pending echo after its timeout
        self.unmatched = 0  # replies with our identifier but no such echo, host or serial
        self.send_errors = 0
        # recvmmsg slots (collectors/icmp/reader.py), made when the socket is first read.
        self.inbox: object | None = None

    def packet_serial(self, seq: int, serial: int, padding: bytes, pad_sum: int) -> bytes:
        """An echo request carrying serial; pad_sum is the padding's word sum."""
        csum = 0
        if self.raw4:  # raw IPv4: the kernel leaves the checksum to us (summed incrementally)
            # A ones'-complement sum of 16-bit words is their sum modulo 0xFFFF (2**16 ≡ 1),
            # folded into 1..0xFFFF: the serial's four words add up to serial % 0xFFFF.
            s = self.csum_base + seq + serial % 0xFFFF + pad_sum
            csum = 0xFFFE - (s - 1) % 0xFFFF
        return _HDR_SERIAL(self.req_type, 0, csum, self.ident, seq, serial) + padding

    def packet(self, seq: int, padding: bytes) -> bytes:
        """An echo request without serial (payloads shorter than SERIAL_BYTES)."""
        csum = 0
        if self.raw4:
            csum = checksum(HDR.pack(self.req_type, 0, 0, self.ident, seq) + padding)
        return HDR.pack(self.req_type, 0, csum, self.ident, seq) + padding


def literal(address: str) -> str | None:
    """The canonical text of an IP address literal; None when address is a name."""
    for af in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_ntop(af, socket.inet_pton(af, address))
        except OSError:
            pass
    return None


def scope_id(scope: str) -> int:
    if not scope:
        return 0
    return int(scope) if scope.isdigit() else socket.if_nametoindex(scope)


def open_socket(af: int, kinds: list[str]) -> EchoSocket | str:
    """The first kind of socket ("raw", "dgram") that opens, or why none did."""
    v6 = af == socket.AF_INET6
    proto = socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP
    name = "IPv6" if v6 else "IPv4"
    errors = []
    for kind in kinds:
        stype = socket.SOCK_RAW if kind == "raw" else socket.SOCK_DGRAM
        try:
            sock = socket.socket(af, stype, proto)
        except OSError as exc:
            errors.append(f"{name} {kind}: {exc}")
            continue
        sock.setblocking(False)
        _set_buffer(sock, _SO_RCVBUFFORCE, socket.SO_RCVBUF, RCVBUF_BYTES)
        _set_buffer(sock, _SO_SNDBUFFORCE, socket.SO_SNDBUF, SNDBUF_BYTES)
        if kind == "raw":
            # Only echo replies: on loopback the socket would also get our own requests.
            if v6:
                words = [0xFFFFFFFF] * 8
                words[ICMP6_ECHO_REPLY >> 5] &= ~(1 << (ICMP6_ECHO_REPLY & 31))
                sock.setsockopt(proto, _ICMP6_FILTER, struct.pack("8I", *words))
            else:
                mask = ~(1 << ICMP_ECHO_REPLY) & 0xFFFFFFFF
                sock.setsockopt(_SOL_RAW, _ICMP_FILTER, struct.pack("I", mask))
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            stamps = True
        except OSError:  # without it the read time stands in (a loaded loop reads late)
            stamps = False
        return EchoSocket(sock, kind, v6, stamps)
    return "; ".join(errors)


def _set_buffer(sock: socket.socket, force: int, plain: int, size: int) -> None:
    try:
        sock.setsockopt(socket.SOL_SOCKET, force, size)  # root: beyond net.core.rmem_max
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, plain, size)


def unavailable_message(errors: list[str]) -> str:
    low, high = _ping_group_range()
    gid = os.getgid()
    # Never advise setcap on the system Python: every Python program would get raw sockets.
    return (
        f"cannot open an ICMP socket ({'; '.join(errors)}). Give netwatch alone the right to "
        "ping, one of: (1) under systemd, AmbientCapabilities=CAP_NET_RAW in its unit "
        "(docs/security.md); (2) a venv with its own interpreter copy "
        "(`python3 -m venv --copies /opt/netwatch/.venv`) and "
        "`setcap cap_net_raw+ep /opt/netwatch/.venv/bin/python3`; (3) datagram ICMP for "
        f"netwatch's group only: `sysctl -w net.ipv4.ping_group_range='{gid} {gid}'` "
        f"(now {low} {high})"
    )


def _ping_group_range() -> tuple[str, str]:
    try:
        with open("/proc/sys/net/ipv4/ping_group_range") as f:
            low, high = f.read().split()
            return low, high
    except (OSError, ValueError):
        return "?", "?"
