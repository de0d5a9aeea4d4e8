"""Replies on a raw IPv4 socket read with recvmmsg(2), up to READ_SLOTS per system call.

The same matching rules as rounds.on_readable (type, identifier, sequence number, source,
serial; RTT from the kernel's receive timestamp), on fixed-layout slots unpacked as columns
(as `netwatch ping`'s sweep reads): at 50,000 devices one `recvmsg` per reply, with its
ancillary-data list, cost more than the matching.
"""

from __future__ import annotations

import errno
import socket
import struct
import time

from netwatch.collectors.icmp_wire import mmsg
from netwatch.collectors.icmp_wire.sockets import ICMP_ECHO_REPLY, SCM_TIMESTAMPNS, EchoSocket

READ_SLOTS = 256  # datagrams per recvmmsg
READ_CALLS = 16  # recvmmsg calls per wake-up at most: 4,096 replies, as rounds.READ_BATCH
_DATA = 80  # bytes kept of each reply: an IPv4 header with options, ICMP header, serial
_NAME = 16  # struct sockaddr_in
_CTRL = 32  # one SCM_TIMESTAMPNS: struct cmsghdr (16) + struct timespec (16)
_SOL_SOCKET = socket.SOL_SOCKET
# Fixed layouts of a received slot; the data one assumes a 20-byte IP header (checked).
_NAME_FMT = struct.Struct(">4xI8x")  # source address
_DATA_FMT = struct.Struct(">B19xB3xHHQ44x")  # version/IHL, ICMP type, identifier, seq, serial
_CTRL_FMT = struct.Struct("=Qiiqq")  # cmsg_len, level, type, tv_sec, tv_nsec
_ICMP_AT = struct.Struct(">BxxxHHQ")  # the same ICMP fields after an IP header with options
_RETRY_LATER = (errno.EAGAIN, errno.EINTR)
_addr_int: dict[str, int] = {}  # "127.0.0.1" -> its address as a number (as _NAME_FMT reads)


def read_batched(fam: EchoSocket) -> bool:
    """Read and credit fam's queued replies; False when recvmmsg is not available here."""
    inbox = fam.inbox
    if inbox is None:
        if not mmsg.available():
            return False
        inbox = fam.inbox = mmsg.Inbox(READ_SLOTS, _DATA, _NAME, _CTRL)
    assert isinstance(inbox, mmsg.Inbox)
    fd = fam.fd
    for _ in range(READ_CALLS):  # bounded, so a flood cannot starve the loop
        got = inbox.receive(fd)
        if got <= 0:
            if got < 0 and -got not in _RETRY_LATER:
                continue  # a socket error reported once (as rounds.on_readable): read on
            return True
        _match(fam, inbox, got)
        if got < READ_SLOTS:
            return True
    return True


def _address(addr: str) -> int:
    n = _addr_int.get(addr)
    if n is None:
        if len(_addr_int) > 1 << 18:  # addresses of devices long gone
            _addr_int.clear()
        n = _addr_int[addr] = int.from_bytes(socket.inet_aton(addr), "big")
    return n


def _match(fam: EchoSocket, inbox: mmsg.Inbox, got: int) -> None:
    """Credit the first got datagrams of the inbox to their echoes (rounds.on_readable's rules)."""
    pending, ident = fam.pending, fam.ident
    now = time.monotonic()
    records = zip(
        _NAME_FMT.iter_unpack(memoryview(inbox.names)[: got * _NAME]),
        _DATA_FMT.iter_unpack(memoryview(inbox.data)[: got * _DATA]),
        _CTRL_FMT.iter_unpack(memoryview(inbox.ctrl)[: got * _CTRL]),
        inbox.lengths(got),
        strict=True,
    )
    # (A reply's owner may send, a burst, but never reads: the slots stay as received.)
    for slot, ((src,), (vihl, kind, rid, seq, serial), stamp, length) in enumerate(records):
        if vihl != 0x45:  # IP options: the ICMP header is further in
            off = (vihl & 0x0F) << 2
            if length < off + 8:
                continue
            kind, rid, seq, serial = _ICMP_AT.unpack_from(inbox.data, slot * _DATA + off)
        else:
            off = 20
        if kind != ICMP_ECHO_REPLY or rid != ident or length < off + 8:
            continue  # not an echo reply of ours (every raw socket sees every reply)
        entry = pending.get(seq)
        if entry is None:
            fam.unmatched += 1
            continue
        owner, index, addr, want, sent_wall, sent_mono = entry
        if addr.__class__ is str:  # (a batched send stored the number: batch.py)
            addr = _address(addr)  # type: ignore[arg-type]
        if src != addr or (want is not None and (length < off + 16 or serial != want)):
            fam.unmatched += 1
            continue
        del pending[seq]
        elapsed = now - sent_mono
        rtt = elapsed
        clen, level, ctype, sec, nsec = stamp
        if clen and level == _SOL_SOCKET and ctype == SCM_TIMESTAMPNS:
            kernel = sec + nsec * 1e-9 - sent_wall
            if 0.0 <= kernel <= elapsed + 0.001:  # else the clock stepped: the read time
                rtt = kernel
        owner.reply(index, rtt, sent_wall)
