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
from collections import deque
from collections.abc import Iterable
from itertools import repeat
from operator import add, itemgetter, le, sub
from typing import Any

from netwatch.collectors.icmp_wire import mmsg, replies
from netwatch.collectors.icmp_wire.sockets import EchoSocket

READ_SLOTS = 256  # datagrams per recvmmsg
READ_CALLS = 16  # recvmmsg calls per wake-up at most: 4,096 replies, as rounds.READ_BATCH
_RETRY_LATER = (errno.EAGAIN, errno.EINTR)
_addr_int: dict[str, int] = {}  # "127.0.0.1" -> its address as a number (as replies reads)
# Fields of a pending entry (sockets.Pending): owner, index, address, serial, wall, loop time.
_OWNER, _INDEX, _ADDR, _WANT, _WALL, _MONO = (itemgetter(i) for i in range(6))


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
        _match_each(fam, replies.echo_replies(inbox, got, fam.ident))
    elif not _match_all(fam, cols, got):
        # A duplicate, a forgery or a stepped clock in the batch: reply by reply.
        _match_each(fam, zip(*cols, strict=True))


def _match_all(fam: EchoSocket, cols: replies.Columns, got: int) -> bool:
    """The usual batch, checked and credited as columns: every reply answers a distinct
    pending echo from its address with its serial, stamped within its time (then True).
    False, with nothing changed, when any one does not (then reply by reply)."""
    sources, seqs, serials, stamps = cols
    pending = fam.pending
    now = time.monotonic()
    entries: list[Any] = list(map(pending.get, seqs))  # (sockets.Pending, or None)
    if None in entries or len(set(seqs)) != got:
        return False
    if list(map(_ADDR, entries)) != sources.tolist():  # (an address as text: Pinger.send's)
        return False
    if list(map(_WANT, entries)) != serials.tolist():
        return False
    walls = list(map(_WALL, entries))
    rtts = list(map(sub, stamps, walls))  # the kernel's receive time less the send's
    limits = map(add, map(sub, repeat(now), map(_MONO, entries)), repeat(0.001))
    if min(rtts) < 0.0 or not all(map(le, rtts, limits)):  # the clock stepped: read times
        return False
    deque(map(pending.pop, seqs), maxlen=0)
    # (An owner may send, a burst: its sequence numbers are taken from what is pending now.)
    for owner, index, rtt, wall in zip(
        map(_OWNER, entries), map(_INDEX, entries), rtts, walls, strict=True
    ):
        owner.reply(index, rtt, wall)
    return True


def _match_each(fam: EchoSocket, rows: Iterable[tuple[int, int, int, float]]) -> None:
    """_match reply by reply (source, sequence, serial, kernel stamp or 0), for a batch with
    anything unusual in it (IP options, other ICMP, no timestamp, a duplicate, a forgery)."""
    pending = fam.pending
    now = time.monotonic()
    # Each entry looked up as it is reached (a reply's owner may send, a burst, which adds
    # entries; a duplicate finds its entry gone); the slots stay as received.
    for src, seq, serial, at in rows:
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
