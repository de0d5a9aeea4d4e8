"""The echo stream's batched sends: the echoes due in one wake-up, sendmmsg(2) 8 at a time.

Only raw IPv4 sockets (where we write the checksum, as `netwatch ping`'s sweep does); datagram
sockets and IPv6 keep `Pinger.send`, one `sendto` per echo. At 50,000 devices a wake-up sends
~400 echoes: laid out a chunk at a time in one buffer (sequence numbers, serials and checksums
written as columns), and the replies read between chunks so a slot's echoes never queue more
replies than a 256 KiB receive buffer holds (the sweep's DRAIN_EVERY). Echo j of a call is
taken as sent when the call began: a loopback RTT reads at most one call's time long.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct
import time
from array import array
from typing import TYPE_CHECKING

from netwatch.collectors.icmp.rounds import SEQ_FULL, SEQ_SPACE, on_readable
from netwatch.collectors.icmp_wire import mmsg
from netwatch.collectors.icmp_wire.sockets import ICMP_ECHO_REQUEST, SERIAL_BYTES, EchoSocket

if TYPE_CHECKING:
    from netwatch.collectors.icmp.probe_state import Probe
    from netwatch.collectors.icmp.stream import EchoStream

SEND_BATCH = 8  # echoes per sendmmsg: as the sweep's (its RTT error and CPU, measured)
CHUNK = 256  # echoes laid out at once; the replies are read before the next chunk
_NAME = 16  # struct sockaddr_in
_MASK = 0xFFFFFFFFFFFFFFFF
_TRANSIENT = (errno.EAGAIN, errno.ENOBUFS, errno.EINTR)

# (probe, when its echo was due) in; what became of each comes back through these:
Due = list[tuple["Probe", float]]


class Layout:
    """CHUNK echo requests for one raw IPv4 socket and payload size, and their addresses: the
    fixed bytes written once, the per-echo fields rewritten for each chunk."""

    __slots__ = ("base", "names", "out", "packets", "plen")

    def __init__(self, fam: EchoSocket, size: int, padding: bytes, pad_sum: int) -> None:
        self.plen = 8 + size
        head = struct.pack("!BBHHHQ", ICMP_ECHO_REQUEST, 0, 0, fam.ident, 0, 0)
        self.packets = bytearray((head + padding) * CHUNK)
        self.names = bytearray(struct.pack("=H14x", socket.AF_INET) * CHUNK)
        self.out = mmsg.Outbox(self.packets, self.plen, self.names, _NAME, CHUNK)
        # Ones'-complement sum modulo 0xFFFF, as EchoSocket.packet_serial: the fixed words.
        self.base = (ICMP_ECHO_REQUEST << 8) + fam.ident + pad_sum - 1

    def write(self, seqs: list[int], serials: list[int], addrs: bytes) -> None:
        """Echo j of the chunk: sequence seqs[j], serial serials[j], to the 4 bytes addrs[4j:]."""
        m, plen, base, buf = len(seqs), self.plen, self.base, self.packets
        pairs = zip(seqs, serials, strict=True)
        sums = array("H", [0xFFFE - (base + q + s % 0xFFFF) % 0xFFFF for q, s in pairs])
        end = m * plen
        columns = ((sums, 2, 2), (array("H", seqs), 6, 2), (array("Q", serials), 8, 8))
        for column, at, width in columns:
            column.byteswap()
            raw = column.tobytes()
            for i in range(width):
                buf[at + i : end : plen] = raw[i::width]
        names = self.names
        for i in range(4):
            names[4 + i : m * _NAME : _NAME] = addrs[i::4]


class Batcher:
    """Sends the stream's due echoes on one raw IPv4 socket; the stream keeps their outcomes."""

    def __init__(self, fam: EchoSocket) -> None:
        self.fam = fam
        self._layouts: dict[int, Layout] = {}  # by payload size

    @staticmethod
    def fits(fam: EchoSocket, size: int) -> bool:
        """Whether fam's echoes of size bytes can go this way (else Pinger.send)."""
        return fam.raw4 and size >= SERIAL_BYTES and mmsg.available()

    def layout(self, size: int, padding: bytes, pad_sum: int) -> Layout:
        lay = self._layouts.get(size)
        if lay is None:
            lay = self._layouts[size] = Layout(self.fam, size, padding, pad_sum)
        return lay

    @staticmethod
    def packed(probes: list[Probe]) -> bytes:
        """The probes' addresses, 4 bytes each; each probe keeps its own (Probe.wire): at
        50,000 devices a shared dict's look-up cost more than the rest of the layout."""
        out = []
        for p in probes:
            target = p.bound.target  # type: ignore[union-attr]  # (batched: bound)
            wire = p.wire
            if wire is None or wire[0] is not target:
                b = socket.inet_aton(target)
                wire = p.wire = (target, b, int.from_bytes(b, "big"))
            out.append(wire[1])
        return b"".join(out)

    def send(self, stream: EchoStream, due: Due, size: int) -> None:
        """An echo to each probe of due now, chunk by chunk; each outcome told to stream."""
        fam, pinger = self.fam, stream.pinger
        padding, pad_sum = pinger._payload(size)
        lay = self.layout(size, padding, pad_sum)
        for start in range(0, len(due), CHUNK):
            if start:
                read_replies(fam)  # a slot's replies must not overflow the receive queue
            part = due[start : start + CHUNK]
            fit = min(len(part), room(fam))
            if fit < len(part):  # the sequence space is full: those left wait (as _send)
                stream._retry(part[fit:], fam, SEQ_FULL)
                part = part[:fit]
            if not part:
                continue
            probes = [p for p, _ in part]
            seqs, serials = self.chunk(lay, probes, pinger._serial)
            pinger._serial = serials[-1]
            if not self._send_chunk(stream, lay, part, seqs, serials):
                rest = due[start + len(part) :]
                if rest:
                    stream._retry(rest, fam, error_of(errno.EAGAIN))
                return

    def _send_chunk(
        self, stream: EchoStream, lay: Layout, part: Due, seqs: list[int], serials: list[int]
    ) -> bool:
        """Send a laid-out chunk; False when the send queue stayed full (the rest retried)."""
        fam = self.fam
        pending = fam.pending
        m, k = len(part), 0
        while k < m:
            sent, wall, mono = send_calls(lay, fam, k, min(SEND_BATCH, m - k))
            if sent > 0:
                end = k + sent
                for j in range(k, end):
                    p = part[j][0]
                    # The address as a number (reader.py compares it so): set by packed().
                    pending[seqs[j]] = (p, 0, p.wire[2], serials[j], wall, mono)  # type: ignore[index]
                stream._sent(part[k:end], seqs[k:end], fam, wall, mono)
                k = end
                continue
            err = -sent
            p, when = part[k]
            if err == errno.EPERM:  # a firewall on this host refused it (as Pinger.send)
                fam.send_errors += 1
                stream._filtered(p, when, fam)
                k += 1
            elif err in _TRANSIENT:  # a full queue: these wait a moment, as in _send
                stream._retry(part[k:], fam, error_of(err))
                return False
            else:  # this echo alone fails (no route...); the rest of the chunk goes on
                stream._failed(p, when, fam, error_of(err))
                k += 1
        return True

    def chunk(self, lay: Layout, probes: list[Probe], serial: int) -> tuple[list[int], list[int]]:
        """Lay out one echo to each probe (at most CHUNK): their sequence numbers and serials
        (serial: the last one used before). The caller makes sure they fit the sequence space."""
        pending, seq = self.fam.pending, self.fam.seq
        seqs = []
        for _ in probes:
            while seq in pending:
                seq = (seq + 1) & 0xFFFF
            seqs.append(seq)
            seq = (seq + 1) & 0xFFFF
        self.fam.seq = seq
        serials = [(serial + 1 + j) & _MASK for j in range(len(probes))]
        lay.write(seqs, serials, self.packed(probes))
        return seqs, serials


def room(fam: EchoSocket) -> int:
    """Echoes that fit in fam's sequence space now."""
    return SEQ_SPACE - len(fam.pending)


def send_calls(lay: Layout, fam: EchoSocket, first: int, count: int) -> tuple[int, float, float]:
    """One sendmmsg of echoes first..first+count-1 of the chunk: how many went (or -errno),
    and the wall-clock and monotonic times just before the call."""
    wall, mono = time.time(), time.monotonic()
    sent = lay.out.sendmmsg(
        fam.fd, lay.out.headers + mmsg.HEADER_BYTES * first, count, mmsg.MSG_DONTWAIT
    )
    return (sent if sent >= 0 else -ctypes.get_errno()), wall, mono


def error_of(err: int) -> OSError:
    """The OSError Python's sendto would have raised for errno err."""
    if err in (errno.EAGAIN, errno.EWOULDBLOCK):
        return BlockingIOError(err, os.strerror(err))
    if err == errno.EINTR:
        return InterruptedError(err, os.strerror(err))
    return OSError(err, os.strerror(err))


def read_replies(fam: EchoSocket) -> None:
    """Read and credit the replies queued now (between chunks of a wake-up's sends)."""
    if fam.loop is not None and fam.pending:
        on_readable(fam)


__all__ = ["CHUNK", "SEND_BATCH", "SEQ_FULL", "Batcher", "Layout", "room", "send_calls"]
