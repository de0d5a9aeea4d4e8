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
from itertools import repeat
from operator import attrgetter
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
_SUM = 0xFFFF  # ones'-complement sums are taken modulo this
_ADDR4 = attrgetter("addr4")

# (probe, when its echo was due) in; what became of each comes back through these:
Due = list[tuple["Probe", float]]
Seq = range | list[int]  # sequence numbers or serials of a chunk (a range: consecutive)


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

    def write(self, seqs: Seq, serials: Seq, addrs: bytes) -> None:
        """Echo j of the chunk: sequence seqs[j], serial serials[j], to the 4 bytes addrs[4j:]."""
        m, plen, buf = len(seqs), self.plen, self.packets
        end = m * plen
        columns = ((self.sums(seqs, serials), 2, 2), (array("H", seqs), 6, 2),
                   (array("Q", serials), 8, 8))  # fmt: skip
        for column, at, width in columns:
            column.byteswap()
            raw = column.tobytes()
            for i in range(width):
                buf[at + i : end : plen] = raw[i::width]
        names = self.names
        for i in range(4):
            names[4 + i : m * _NAME : _NAME] = addrs[i::4]

    def sums(self, seqs: Seq, serials: Seq) -> array:
        """The checksum of each echo: 0xFFFE - (base + seq + serial) % 0xFFFF (the words'
        ones'-complement sum; a serial's four words add up to serial % 0xFFFF)."""
        base = self.base
        if not (isinstance(seqs, range) and isinstance(serials, range)):
            pairs = zip(seqs, serials, strict=True)
            return array("H", [0xFFFE - (base + q + s % _SUM) % _SUM for q, s in pairs])
        # Both step by one: the sum steps by two, so the column is at most two ranges (a
        # chunk of up to CHUNK echoes wraps modulo 0xFFFF at most once).
        n = len(seqs)
        t = (base + seqs.start + serials.start) % _SUM  # echo 0's sum
        head = min(n, (_SUM + 1 - t) // 2)  # echoes before the sum wraps
        out = array("H", range(0xFFFE - t, 0xFFFE - t - 2 * head, -2))
        if head < n:
            t += 2 * head - _SUM
            out.extend(range(0xFFFE - t, 0xFFFE - t - 2 * (n - head), -2))
        return out


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
        """The probes' addresses, 4 bytes each: each batched probe keeps its own (Probe.addr4,
        set with its binding), joined in C; a Python loop over them cost more than the rest
        of the layout at 50,000 devices."""
        return b"".join(map(_ADDR4, probes))

    def send(self, stream: EchoStream, probes: list[Probe], dues: list[float], size: int) -> None:
        """An echo to each probe now (dues[i]: when probes[i]'s was due), chunk by chunk;
        each outcome told to stream."""
        fam, pinger = self.fam, stream.pinger
        padding, pad_sum = pinger._payload(size)
        lay = self.layout(size, padding, pad_sum)
        total = len(probes)
        for start in range(0, total, CHUNK):
            if start:
                read_replies(fam)  # a slot's replies must not overflow the receive queue
            stop = min(total, start + CHUNK)
            fit = min(stop - start, room(fam))
            if start + fit < stop:  # the sequence space is full: those left wait (as _send)
                rest = list(zip(probes[start + fit : stop], dues[start + fit : stop], strict=True))
                stream._retry(rest, fam, SEQ_FULL)
                stop = start + fit
            if stop == start:
                continue
            part, part_dues = probes[start:stop], dues[start:stop]
            seqs, serials, addrs = self.chunk(lay, part, pinger._serial)
            pinger._serial = serials[-1]
            if not self._send_chunk(stream, lay, part, part_dues, seqs, serials, addrs):
                if stop < total:
                    rest = list(zip(probes[stop:], dues[stop:], strict=True))
                    stream._retry(rest, fam, error_of(errno.EAGAIN))
                return
        # Loopback (and any fast link) answers within the calls: read now, in this turn of
        # the loop, rather than in one more turn (its epoll and callback) right after it.
        read_replies(fam)

    def _send_chunk(
        self,
        stream: EchoStream,
        lay: Layout,
        part: list[Probe],
        dues: list[float],
        seqs: Seq,
        serials: Seq,
        addrs: array,
    ) -> bool:
        """Send a laid-out chunk; False when the send queue stayed full (the rest retried)."""
        fam = self.fam
        pending = fam.pending
        m, k = len(part), 0
        while k < m:
            # Calls until the chunk is out or one fails; then their echoes' bookkeeping at
            # once (no reply is read in between): each echo's send times are its call's.
            done = k
            walls: list[float] = []
            monos: list[float] = []
            sent = 0
            while k < m:
                sent, wall, mono = send_calls(lay, fam, k, min(SEND_BATCH, m - k))
                if sent <= 0:
                    break
                walls += [wall] * sent
                monos += [mono] * sent
                k += sent
            if k > done:
                # The pending entries, made in C (zip): (probe, 0, address as a number as
                # reader.py compares it, serial, wall and loop send times).
                entries = zip(part[done:k], repeat(0), addrs[done:k], serials[done:k],
                              walls, monos, strict=False)  # fmt: skip
                pending.update(zip(seqs[done:k], entries, strict=True))
                stream._sent(part[done:k], dues[done:k], seqs[done:k], fam, walls, monos)
            if k >= m:
                break
            err = -sent
            p, when = part[k], dues[k]
            if err == errno.EPERM:  # a firewall on this host refused it (as Pinger.send)
                fam.send_errors += 1
                stream._filtered(p, when, fam)
                k += 1
            elif err in _TRANSIENT:  # a full queue: these wait a moment, as in _send
                stream._retry(list(zip(part[k:], dues[k:], strict=True)), fam, error_of(err))
                return False
            else:  # this echo alone fails (no route...); the rest of the chunk goes on
                stream._failed(p, when, fam, error_of(err))
                k += 1
        return True

    def chunk(self, lay: Layout, probes: list[Probe], serial: int) -> tuple[Seq, Seq, array]:
        """Lay out one echo to each probe (at most CHUNK): their sequence numbers, serials
        (serial: the last one used before) and addresses as numbers. The caller makes sure
        they fit the sequence space."""
        fam = self.fam
        pending, seq, n = fam.pending, fam.seq, len(probes)
        seqs: Seq
        if seq + n <= 0x10000 and pending.keys().isdisjoint(range(seq, seq + n)):
            seqs = range(seq, seq + n)  # the usual case: the next n numbers are free
            seq = (seq + n) & 0xFFFF
        else:
            seqs = []
            for _ in probes:
                while seq in pending:
                    seq = (seq + 1) & 0xFFFF
                seqs.append(seq)
                seq = (seq + 1) & 0xFFFF
        fam.seq = seq
        serials: Seq
        if serial + n < _MASK:
            serials = range(serial + 1, serial + 1 + n)
        else:
            serials = [(serial + 1 + j) & _MASK for j in range(n)]
        packed = self.packed(probes)
        lay.write(seqs, serials, packed)
        addrs = array("I", packed)
        addrs.byteswap()  # network order read as numbers, as replies.py reads sources
        return seqs, serials, addrs


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
