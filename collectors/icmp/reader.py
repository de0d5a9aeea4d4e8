"""Replies on a raw IPv4 socket read with recvmmsg(2), up to READ_SLOTS per system call.

The same matching rules as rounds.on_readable (type, identifier, sequence number, source,
serial; RTT from the kernel's receive timestamp), on fixed-layout slots unpacked as columns
(as `netwatch ping`'s sweep reads): at 50,000 devices one `recvmsg` per reply, with its
ancillary-data list, cost more than the matching.
"""

from __future__ import annotations

import errno
import socket
import time

from netwatch.collectors.icmp_wire import mmsg, replies
from netwatch.collectors.icmp_wire.sockets import EchoSocket

READ_SLOTS = 256  # datagrams per recvmmsg
READ_CALLS = 16  # recvmmsg calls per wake-up at most: 4,096 replies, as rounds.READ_BATCH
_RETRY_LATER = (errno.EAGAIN, errno.EINTR)
_addr_int: dict[str, int] = {}  # "127.0.0.1" -> its address as a number (as replies reads)


def read_batched(fam: EchoSocket) -> bool:
    """Read and credit fam's queued replies; False when recvmmsg is not available here."""
    inbox = fam.inbox
    if inbox is None:
        if not mmsg.available():
            return False
        inbox = fam.inbox = replies.inbox(READ_SLOTS)
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
    cols = replies.columns(inbox, got, fam.ident)
    if cols is None:
        _match_each(fam, inbox, got)
        return
    pending = fam.pending
    now = time.monotonic()
    sources, seqs, serials, stamps = cols
    # The usual batch, unpacked as columns: one pass, each entry looked up as it is reached
    # (a reply's owner may send, a burst, which adds entries; a duplicate finds its gone).
    for src, seq, serial, at, entry in zip(
        sources, seqs, serials, stamps, map(pending.get, seqs), strict=True
    ):
        if entry is None:
            fam.unmatched += 1
            continue
        owner, index, addr, want, sent_wall, sent_mono = entry
        if addr.__class__ is str:  # (a batched send stored the number: batch.py)
            addr = _address(addr)  # type: ignore[arg-type]
        if src != addr or (want is not None and serial != want):
            fam.unmatched += 1
            continue
        del pending[seq]
        elapsed = now - sent_mono
        rtt = at - sent_wall  # the kernel's receive time; else (the clock stepped) the read's
        if not 0.0 <= rtt <= elapsed + 0.001:
            rtt = elapsed
        owner.reply(index, rtt, sent_wall)


def _match_each(fam: EchoSocket, inbox: mmsg.Inbox, got: int) -> None:
    """_match for a batch with anything unusual in it (IP options, other ICMP, no timestamp)."""
    pending = fam.pending
    now = time.monotonic()
    # (A reply's owner may send, a burst, but never reads: the slots stay as received.)
    for src, seq, serial, at in replies.echo_replies(inbox, got, fam.ident):
        entry = pending.get(seq)
        if entry is None:
            fam.unmatched += 1
            continue
        owner, index, addr, want, sent_wall, sent_mono = entry
        if addr.__class__ is str:  # (a batched send stored the number: batch.py)
            addr = _address(addr)  # type: ignore[arg-type]
        if src != addr or (want is not None and serial != want):
            fam.unmatched += 1
            continue
        del pending[seq]
        elapsed = now - sent_mono
        rtt = elapsed
        if at:
            kernel = at - sent_wall
            if 0.0 <= kernel <= elapsed + 0.001:  # else the clock stepped: the read time
                rtt = kernel
        owner.reply(index, rtt, sent_wall)
