"""`netwatch ping`'s sweep without an event loop, when every address is an IPv4 literal.

Every echo of the sweep is laid out before the first is sent: echo k (round k // hosts, host
k % hosts) carries sequence number seq0 + k and serial serial0 + k, so a reply is matched by
index arithmetic, not a dict; the packets are sent with sendmmsg(2) in batches and the replies
read with recvmmsg(2) every DRAIN_EVERY echoes, so the receive queue never holds more than
that many replies (plus what slower hosts send later): no batch can overflow it. The matching
rules are the collector's (collectors/icmp/rounds.py): sequence number, identifier, source
address and payload serial; a duplicate or a reply to an echo that was never sent is
unmatched; a reply after the timeout counts the echo lost. RTTs come from the kernel's receive
timestamps (SO_TIMESTAMPNS) against each echo's send time: the wall clock is read before and
after each batch's one system call and echo j of a batch of m is taken as sent at
start + (end - start) * j / m (the kernel sends them in order); a reply stamped before that
estimate is timed from the batch's start instead, so an RTT is never below zero.

`sweep()` returns None when this path does not apply (a name, an IPv6 address, a payload too
short for the serial, more echoes than sequence numbers, more than MAX_PACKET_BYTES of packets,
no raw socket or no sendmmsg): the caller then uses the collector's Pinger, whose behaviour
this path reproduces.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import struct
import time
from array import array

from netwatch.collectors.icmp_wire import mmsg, replies
from netwatch.collectors.icmp_wire.sockets import (
    ICMP_ECHO_REQUEST,
    SERIAL_BYTES,
    EchoSocket,
    open_socket,
)

# Echoes per sendmmsg: their send times are interpolated within the call, so a batch bounds
# the RTT error; 8 kept loopback RTTs within ~2 µs of fping's at p99 (64: ~0.12 ms), and the
# CPU of 8, 16, 32 and 64 was the same within the noise (docs/performance.md).
SEND_BATCH = 8
DRAIN_EVERY = 256  # echoes sent between reads of the replies: ~256 KiB queued at most
READ_SLOTS = 1024  # datagrams per recvmmsg
MAX_PACKET_BYTES = 64 << 20  # every echo is written beforehand: above this, the Pinger's way
MAX_RETRY_SECONDS = 60.0  # a send waiting for queue space gives up after this (as rounds.py)
_TRANSIENT = (errno.EAGAIN, errno.ENOBUFS, errno.EINTR)
# Where echo j of a batch of m is taken as sent: j/m of the way through the call.
_FRACTIONS = [[j / m for j in range(m)] if m else [] for m in range(SEND_BATCH + 1)]


class Swept:
    """A sweep's outcome, by column: rtts[k] is echo k's RTT in seconds (None: lost), echo k
    being round k // hosts to addresses[k % hosts]. (Not a dataclass: importing dataclasses
    costs `netwatch ping` more start-up than the rest of this module.)"""

    __slots__ = (
        "addresses",
        "count",
        "errors",
        "late",
        "rtts",
        "send_retries",
        "sent_before_error",
        "unmatched",
    )

    def __init__(self, addresses: list[str], count: int, rtts: list[float | None]) -> None:
        self.addresses = addresses
        self.count = count
        self.rtts = rtts
        self.errors: dict[int, str] = {}  # host -> why it stopped sending
        self.sent_before_error: dict[int, int] = {}  # host -> echoes it sent before that
        self.late = 0  # replies after the timeout (their echoes count lost)
        self.unmatched = 0  # our identifier, but no such echo, host or serial, or a duplicate
        self.send_retries = 0  # sends tried again after a full queue (EAGAIN, ENOBUFS)

    def sent(self, host: int) -> int:
        return self.sent_before_error.get(host, self.count)

    def received(self, host: int) -> list[float]:
        """The RTTs of host's answered echoes, in order."""
        return [t for t in self.rtts[host :: len(self.addresses)] if t is not None]


def _packed(addresses: list[str]) -> bytes | None:
    """The addresses as one string of 4-byte IPv4 addresses; None if one is not a literal."""
    pton, af = socket.inet_pton, socket.AF_INET
    try:
        return b"".join([pton(af, a) for a in addresses])
    except OSError:  # a name, an IPv6 address, "127.1": the collector's path decides
        return None


def sweep(
    addresses: list[str], count: int, spacing: float, timeout: float, size: int
) -> Swept | None:
    """count echoes to each address, spacing seconds apart; None if this path does not apply."""
    hosts = len(addresses)
    total = hosts * count
    if (
        not hosts
        or total > 1 << 16
        or size < SERIAL_BYTES
        or total * (8 + size) > MAX_PACKET_BYTES
        or not mmsg.available()
    ):
        return None
    packed = _packed(addresses)
    if packed is None:
        return None
    fam = open_socket(socket.AF_INET, ["raw"])
    if isinstance(fam, str):  # no privilege for raw: the collector tries datagram sockets
        return None
    try:
        return _Sweep(fam, addresses, packed, count, size).run(spacing, timeout)
    finally:
        fam.sock.close()


class _Sweep:
    """One sweep's socket, prebuilt echoes, receive slots and per-echo bookkeeping."""

    def __init__(
        self, fam: EchoSocket, addresses: list[str], packed: bytes, count: int, size: int
    ) -> None:
        hosts = len(addresses)
        total = hosts * count
        self.fam, self.fd, self.hosts, self.total = fam, fam.fd, hosts, total
        self.seq0 = int.from_bytes(os.urandom(2), "big")
        self.serial0 = int.from_bytes(os.urandom(8), "big") >> 2  # no wrap within 65,536
        want = array("I", packed)
        want.byteswap()  # network order read as numbers, as replies.py reads sources
        self.want = want.tolist()
        self.out = mmsg.Outbox(self._packets(size), 8 + size, _names(packed), replies.NAME, hosts)
        self.inbox = replies.inbox(READ_SLOTS)
        self.result = Swept(addresses, count, [None] * total)
        self.pending = bytearray(total)  # 1 while echo k is sent and not yet answered
        self.remaining = 0
        self.sent_wall = [0.0] * total  # estimated send time (see the module docstring)
        self.batch_wall = [0.0] * total  # its batch's start: no reply can precede it
        self.batch_mono = [0.0] * total
        self.timeout = 0.0  # seconds a reply counts after its echo was sent (set by run())

    def _packets(self, size: int) -> bytearray:
        """Every echo request of the sweep, one after another, checksums included."""
        total, plen = self.total, 8 + size
        pad_len = size - SERIAL_BYTES
        padding = bytes((0x10 + i) & 0xFF for i in range(pad_len))  # as engine.py pads
        words = padding + b"\0" if pad_len % 2 else padding
        pad_sum = sum(struct.unpack(f"!{len(words) // 2}H", words)) if words else 0
        ident = self.fam.ident
        head = struct.pack("!BBHHHQ", ICMP_ECHO_REQUEST, 0, 0, ident, 0, 0)
        buf = bytearray((head + padding) * total)
        seq0, serial0 = self.seq0, self.serial0
        seqs = array("H", range(seq0, min(seq0 + total, 1 << 16)))
        seqs.extend(range(0, total - len(seqs)))
        # Ones'-complement sum modulo 0xFFFF (as EchoSocket.packet_serial): the fixed words,
        # the sequence number and the serial's four words (serial % 0xFFFF).
        base = (ICMP_ECHO_REQUEST << 8) + ident + pad_sum - 1
        sums = array(
            "H", [0xFFFE - (base + q + (serial0 + k) % 0xFFFF) % 0xFFFF for k, q in enumerate(seqs)]
        )
        serials = array("Q", range(serial0, serial0 + total))
        for column, at, width in ((sums, 2, 2), (seqs, 6, 2), (serials, 8, 8)):
            column.byteswap()
            raw = column.tobytes()
            for i in range(width):
                buf[at + i :: plen] = raw[i::width]
        return buf

    def run(self, spacing: float, timeout: float) -> Swept:
        hosts, res = self.hosts, self.result
        self.timeout = timeout
        start = time.monotonic()
        for index in range(res.count):
            if index:
                self._wait(start + index * spacing, stop_when_answered=False)
            first = index * hosts
            k, end = first, first + hosts
            drain_at = k + DRAIN_EVERY
            while k < end:
                if k - first in res.errors:  # this host stopped sending at an earlier echo
                    k += 1
                    continue
                stop = min(end, drain_at)
                if res.errors:
                    stop = next((j for j in range(k, stop) if j - first in res.errors), stop)
                k = self._send_run(k, stop)
                if k < stop:  # a send failed: the error, a retry or a filtered echo
                    k = self._send(k, min(SEND_BATCH, stop - k), timeout)
                if k >= drain_at:
                    self._drain()
                    drain_at = k + DRAIN_EVERY
        self._wait(time.monotonic() + timeout, stop_when_answered=True)
        self._drain()  # replies that came in time but were not read yet
        return res

    def _send_run(self, k: int, stop: int) -> int:
        """Send echoes k..stop-1 in batches until one fails: the next echo to send.

        The hot loop of a sweep: the bookkeeping per batch is a few slice assignments."""
        send, fd, at, size = self.out.sendmmsg, self.fd, self.out.headers, mmsg.HEADER_BYTES
        wall, first, fractions = time.time, k, _FRACTIONS
        sent_wall, batch_wall = self.sent_wall, self.batch_wall
        m0 = time.monotonic()
        while k < stop:
            m = min(stop - k, SEND_BATCH)
            t0 = wall()
            sent = send(fd, at + size * k, m, mmsg.MSG_DONTWAIT)
            if sent <= 0:
                break
            took = wall() - t0
            end = k + sent
            sent_wall[k:end] = [t0 + took * f for f in fractions[sent]]
            batch_wall[k:end] = [t0] * sent
            k = end
            if sent < m:
                break
        if k > first:
            self.batch_mono[first:k] = [m0] * (k - first)
            self.pending[first:k] = b"\1" * (k - first)
            self.remaining += k - first
        return k

    def _send(self, k: int, m: int, timeout: float) -> int:
        """Send echoes k..k+m-1 (or as many as go), handling a failure of echo k: the next echo
        to send."""
        wall, mono = time.time, time.monotonic
        deadline = 0.0
        while True:
            t0, m0 = wall(), mono()
            sent = self.out.send(self.fd, k, m)
            if sent > 0:
                step = (wall() - t0) / sent
                end = k + sent
                self.sent_wall[k:end] = [t0 + step * j for j in range(sent)]
                self.batch_wall[k:end] = [t0] * sent
                self.batch_mono[k:end] = [m0] * sent
                self.pending[k:end] = b"\1" * sent
                self.remaining += sent
                return end
            err = -sent
            if err == errno.EPERM:
                # A firewall on this host dropped the echo: as ping(8) (and engine.py), it
                # counts as sent and lost, and the host's next echoes are still sent.
                self.fam.send_errors += 1
                return k + 1
            if err not in _TRANSIENT:
                return self._fail(k, err)
            if not deadline:  # a full queue: read replies, then try again for a bounded time
                deadline = m0 + min(timeout + 0.5, MAX_RETRY_SECONDS)
            if mono() >= deadline:
                return self._fail(k, err)
            self.result.send_retries += 1
            self._wait(mono() + 0.001, stop_when_answered=False)

    def _fail(self, k: int, err: int) -> int:
        """Echo k could not be sent: its host stops with that error (engine.py's rule)."""
        res = self.result
        host = k % self.hosts
        res.errors[host] = f"send failed: {OSError(err, os.strerror(err))}"
        res.sent_before_error[host] = k // self.hosts
        self.fam.send_errors += 1
        return k + 1

    def _wait(self, until: float, stop_when_answered: bool) -> None:
        """Read replies as they come until the monotonic time until (or all are answered)."""
        fd = self.fd
        while True:
            if stop_when_answered and not self.remaining:
                return
            left = until - time.monotonic()
            if left <= 0:
                return
            readable, _, _ = select.select([fd], [], [], left)
            if readable:
                self._drain()

    def _drain(self) -> None:
        """Read and match every reply queued now."""
        inbox, fd = self.inbox, self.fd
        while True:
            got = inbox.receive(fd)
            if got <= 0:
                if got < 0 and -got not in _TRANSIENT:
                    continue  # a socket error reported once (as rounds.on_readable): read on
                return
            self._match(got)
            if got < inbox.slots:
                return

    def _match(self, got: int) -> None:
        """Credit the first got datagrams of the inbox to their echoes."""
        inbox, res = self.inbox, self.result
        ident, seq0, serial0, total, hosts = (
            self.fam.ident, self.seq0, self.serial0, self.total, self.hosts)  # fmt: skip
        pending, want, rtts = self.pending, self.want, res.rtts
        sent_wall, batch_wall, batch_mono = self.sent_wall, self.batch_wall, self.batch_mono
        timeout = self.timeout
        now = time.monotonic()
        for src, seq, serial, at in replies.echo_replies(inbox, got, ident):
            k = (seq - seq0) & 0xFFFF
            if k >= total or not pending[k] or src != want[k % hosts] or serial != serial0 + k:
                res.unmatched += 1  # (serial -1: a reply too short to carry one)
                continue
            pending[k] = 0
            self.remaining -= 1
            elapsed = now - batch_mono[k]
            rtt = elapsed
            if at:  # the kernel's receive time
                kernel = at - sent_wall[k]
                if kernel < 0.0:
                    kernel = at - batch_wall[k]
                if 0.0 <= kernel <= elapsed + 0.001:  # else the clock stepped: the read time
                    rtt = kernel
            if rtt > timeout:
                res.late += 1
                continue
            rtts[k] = rtt


def _names(packed: bytes) -> bytearray:
    """struct sockaddr_in of each address (family in host order, port 0, zero padding)."""
    hosts = len(packed) // 4
    names = bytearray(struct.pack("=H14x", socket.AF_INET) * hosts)
    for i in range(4):
        names[4 + i :: replies.NAME] = packed[i::4]
    return names
