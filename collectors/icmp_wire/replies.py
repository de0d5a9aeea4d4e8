"""Echo replies out of recvmmsg slots (mmsg.Inbox) of a raw IPv4 socket, for `netwatch
ping`'s sweep and the echo stream's reader, which then match them each their own way.

Each slot has a fixed layout (source address, the datagram's first bytes, one control
message), unpacked as columns: one struct call per field group for the whole batch.
"""

from __future__ import annotations

import socket
import struct
from array import array
from collections.abc import Iterator
from itertools import repeat
from operator import add, mul

from netwatch.collectors.icmp_wire import mmsg
from netwatch.collectors.icmp_wire.sockets import ICMP_ECHO_REPLY, SCM_TIMESTAMPNS

DATA = 80  # bytes kept of each reply: an IPv4 header with options, ICMP header, serial
NAME = 16  # struct sockaddr_in
CTRL = 32  # one SCM_TIMESTAMPNS: struct cmsghdr (16) + struct timespec (16)
_SOL_SOCKET = socket.SOL_SOCKET
# Fixed layouts of a received slot; the data one assumes a 20-byte IP header (checked).
_NAME_FMT = struct.Struct(">4xI8x")  # source address
_DATA_FMT = struct.Struct(">B19xB3xHHQ44x")  # version/IHL, ICMP type, identifier, seq, serial
_CTRL_FMT = struct.Struct("=Qiiqq")  # cmsg_len, level, type, tv_sec, tv_nsec
_ICMP_AT = struct.Struct(">BxxxHHQ")  # the same ICMP fields after an IP header with options
_PLAIN = 20 + 16  # an IP header without options, the ICMP header and the serial
_STAMPED = _SOL_SOCKET | SCM_TIMESTAMPNS << 32  # cmsg_level, cmsg_type as one 64-bit word

Columns = tuple[array, array, array, list[float]]


def inbox(slots: int) -> mmsg.Inbox:
    """recvmmsg slots for slots echo replies."""
    return mmsg.Inbox(slots, DATA, NAME, CTRL)


def echo_replies(box: mmsg.Inbox, got: int, ident: int) -> Iterator[tuple[int, int, int, float]]:
    """Each echo reply with identifier ident among box's first got datagrams: its source (an
    IPv4 address as a number), sequence number, serial (-1: too short to carry one) and the
    kernel's receive time (0.0: none)."""
    records = zip(
        _NAME_FMT.iter_unpack(memoryview(box.names)[: got * NAME]),
        _DATA_FMT.iter_unpack(memoryview(box.data)[: got * DATA]),
        _CTRL_FMT.iter_unpack(memoryview(box.ctrl)[: got * CTRL]),
        box.lengths(got),
        strict=True,
    )
    for slot, ((src,), (vihl, kind, rid, seq, serial), stamp, length) in enumerate(records):
        if vihl != 0x45:  # IP options: the ICMP header is further in
            off = (vihl & 0x0F) << 2
            if length < off + 8:
                continue
            kind, rid, seq, serial = _ICMP_AT.unpack_from(box.data, slot * DATA + off)
        else:
            off = 20
        if kind != ICMP_ECHO_REPLY or rid != ident or length < off + 8:
            continue  # not an echo reply of ours (every raw socket sees every reply)
        clen, level, ctype, sec, nsec = stamp
        stamped = clen and level == _SOL_SOCKET and ctype == SCM_TIMESTAMPNS
        at = sec + nsec * 1e-9 if stamped else 0.0
        yield src, seq, (serial if length >= off + 16 else -1), at


def columns(box: mmsg.Inbox, got: int, ident: int) -> Columns | None:
    """echo_replies() as columns cut out in C (sources, sequence numbers, serials, receive
    times) when every one of box's first got datagrams (got > 0) is an echo reply with
    identifier ident, no IP options, a serial and the kernel's timestamp: the usual batch.
    None otherwise (then echo_replies() reads them one by one)."""
    data = box.data
    end = got * DATA
    # Byte columns of the fixed layout (_DATA_FMT): version/IHL at 0, ICMP type at 20,
    # identifier at 24, sequence number at 26, serial at 28 (network order).
    if (
        data[0:end:DATA].count(0x45) != got
        or data[20:end:DATA].count(ICMP_ECHO_REPLY) != got
        or data[24:end:DATA].count(ident >> 8) != got
        or data[25:end:DATA].count(ident & 0xFF) != got
        or min(box.lengths(got)) < _PLAIN
    ):
        return None
    stamps = array("q")  # struct cmsghdr (len, level, type) + struct timespec, 4 words a slot
    stamps.frombytes(memoryview(box.ctrl)[: got * CTRL])
    if stamps[0::4].count(0) or stamps[1::4].count(_STAMPED) != got:
        return None
    seqs = _numbers("H", data, 26, 2, got)
    serials = _numbers("Q", data, 28, 8, got)
    names = array("I")
    names.frombytes(memoryview(box.names)[: got * NAME])
    sources = names[1::4]  # struct sockaddr_in: family, port, then the address (word 1 of 4)
    sources.byteswap()  # network order read as numbers (as _NAME_FMT reads it)
    times = list(map(add, stamps[2::4], map(mul, stamps[3::4], repeat(1e-9))))
    return sources, seqs, serials, times


def _numbers(code: str, data: bytearray, at: int, width: int, got: int) -> array:
    """The big-endian field of width bytes at offset at of each of got DATA-byte slots."""
    raw = bytearray(width * got)
    end = got * DATA
    for i in range(width):  # the host is little-endian (mmsg.available): lowest byte first
        raw[i::width] = data[at + width - 1 - i : end : DATA]
    out = array(code)
    out.frombytes(raw)
    return out
