"""The echo stream's batched path without sockets: checksums of a laid-out chunk (RFC 1071,
recomputed from each packet's bytes) and replies read as columns from recvmmsg slots filled
by hand (values chosen here, not by the code under test)."""

from __future__ import annotations

import socket
import struct
import time
from array import array

import pytest

from netwatch.collectors.icmp.batch import CHUNK, Layout
from netwatch.collectors.icmp_wire import mmsg, replies
from netwatch.collectors.icmp_wire.sockets import SCM_TIMESTAMPNS, checksum

pytestmark = pytest.mark.skipif(not mmsg.available(), reason="sendmmsg/recvmmsg: Linux only")


class Fam:
    """The two fields of an EchoSocket a Layout reads."""

    def __init__(self, ident: int) -> None:
        self.ident = ident


def layout(ident: int, size: int = 56) -> Layout:
    padding = bytes((0x10 + i) & 0xFF for i in range(size - 8))
    words = struct.unpack(f"!{len(padding) // 2}H", padding)
    return Layout(Fam(ident), size, padding, sum(words))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ident", "seq0", "serial0"),
    [
        (0x1234, 100, 5_000),
        (0xFFFF, 0xFFFF - CHUNK, 2**64 - 10 * CHUNK),  # sums near 0xFFFF: the column wraps
        (0, 0, 0),
        (0xBEEF, 40_000, 0xFFFE * 3 - 7),  # a serial's sum modulo 0xFFFF wraps mid-chunk
    ],
)
def test_every_laid_out_echo_has_a_valid_internet_checksum(ident, seq0, serial0):
    lay = layout(ident)
    for n in (1, 7, CHUNK):
        seqs, serials = range(seq0, seq0 + n), range(serial0, serial0 + n)
        addrs = b"".join(socket.inet_aton(f"127.0.{j // 250}.{j % 250 + 1}") for j in range(n))
        lay.write(seqs, serials, addrs)
        for j in range(n):
            packet = bytes(lay.packets[j * lay.plen : (j + 1) * lay.plen])
            kind, code, _sum, pid, seq, serial = struct.unpack_from("!BBHHHQ", packet)
            assert (kind, code, pid, seq, serial) == (8, 0, ident, seq0 + j, serial0 + j)
            assert checksum(packet) == 0, (n, j)  # RFC 1071: a correct sum checks to zero
            name = lay.names[j * 16 : (j + 1) * 16]
            assert name[4:8] == addrs[4 * j : 4 * j + 4]


def fill(box: mmsg.Inbox, slot: int, packet: bytes, src: str, stamp: tuple[int, int] | None):
    """Put one received datagram in box's slot as recvmmsg would (data, source, control)."""
    data = packet[: replies.DATA]
    box.data[slot * replies.DATA : slot * replies.DATA + len(data)] = data
    name = struct.pack("=HH4s8x", socket.AF_INET, 0, socket.inet_aton(src))
    box.names[slot * replies.NAME : (slot + 1) * replies.NAME] = name
    ctrl = bytes(replies.CTRL)
    if stamp is not None:
        ctrl = struct.pack("=Qiiqq", 32, socket.SOL_SOCKET, SCM_TIMESTAMPNS, *stamp)
    box.ctrl[slot * replies.CTRL : (slot + 1) * replies.CTRL] = ctrl
    box.mm[8 * slot + 7] = len(packet)


def reply(ident: int, seq: int, serial: int, ihl: int = 5, kind: int = 0) -> bytes:
    ip = bytes([0x40 | ihl]) + bytes(4 * ihl - 1)
    return ip + struct.pack("!BBHHHQ", kind, 0, 0, ident, seq, serial) + bytes(48)


def test_a_plain_batch_reads_as_columns():
    box = replies.inbox(4)
    ident = 0xA1B2
    want = [
        ("127.0.0.1", 0, 0, (1_700_000_000, 1)),
        ("127.1.2.3", 0xFFFF, 2**64 - 1, (1_700_000_001, 999_999_999)),
        ("10.255.0.9", 0x1234, 0x0102030405060708, (5, 500_000_000)),
    ]
    for slot, (src, seq, serial, stamp) in enumerate(want):
        fill(box, slot, reply(ident, seq, serial), src, stamp)
    cols = replies.columns(box, 3, ident)
    assert cols is not None
    sources, seqs, serials, times = cols
    number = [int.from_bytes(socket.inet_aton(w[0]), "big") for w in want]
    assert list(sources) == number
    assert list(seqs) == [w[1] for w in want]
    assert list(serials) == [w[2] for w in want]
    assert times == [sec + nsec * 1e-9 for _, _, _, (sec, nsec) in want]
    # The one-by-one reader agrees (the path taken for anything unusual).
    assert list(replies.echo_replies(box, 3, ident)) == list(zip(*cols, strict=True))


@pytest.mark.parametrize(
    "odd",
    ["options", "other identifier", "not a reply", "no timestamp", "too short"],
)
def test_anything_unusual_leaves_the_batch_to_the_one_by_one_reader(odd):
    box = replies.inbox(3)
    ident = 0x0707
    fill(box, 0, reply(ident, 1, 11), "127.0.0.2", (7, 0))
    packet, stamp = reply(ident, 2, 12), (8, 0)
    if odd == "options":
        packet = reply(ident, 2, 12, ihl=6)
    elif odd == "other identifier":
        packet = reply(ident ^ 0x0100, 2, 12)
    elif odd == "not a reply":
        packet = reply(ident, 2, 12, kind=3)
    elif odd == "no timestamp":
        stamp = None
    else:
        packet = packet[:30]
    fill(box, 1, packet, "127.0.0.3", stamp)
    assert replies.columns(box, 2, ident) is None
    assert replies.columns(box, 1, ident) is not None  # the first alone is plain


def test_sums_of_a_chunk_as_ranges_equal_the_listed_ones():
    lay = layout(0x4321)
    seqs = array("H", range(65_000, 65_256))
    serials = list(range(2**40, 2**40 + 256))
    listed = lay.sums(list(seqs), serials)
    assert lay.sums(range(65_000, 65_256), range(2**40, 2**40 + 256)) == listed


class Owner:
    """Records what the reader credits to it (as a Probe or an EchoRound is told)."""

    timeout = 1.0

    def __init__(self) -> None:
        self.got: list[tuple[int, float, float]] = []

    def reply(self, index: int, rtt: float, sent: float) -> None:
        self.got.append((index, rtt, sent))

    def drop(self, index: int, sent: float) -> None:
        raise AssertionError("the reader never drops")


class Sock:
    """The fields of an EchoSocket the reader uses."""

    def __init__(self, ident: int) -> None:
        self.ident = ident
        self.pending: dict[int, tuple] = {}
        self.unmatched = 0


def number(address: str) -> int:
    return int.from_bytes(socket.inet_aton(address), "big")


@pytest.mark.parametrize("odd", [None, "forged serial", "wrong host", "duplicate", "text address"])
def test_a_batch_is_credited_to_its_echoes_once(odd):
    from netwatch.collectors.icmp import reader

    ident, wall = 0x5150, 1_700_000_000.25
    mono = time.monotonic() - 0.05  # sent 50 ms ago; each reply stamped 2 ms after its send
    fam, owners, box = Sock(ident), [Owner() for _ in range(4)], replies.inbox(4)
    for j, owner in enumerate(owners):
        src = f"127.0.0.{j + 1}"
        addr: int | str = src if odd == "text address" and j == 1 else number(src)
        fam.pending[100 + j] = (owner, j, addr, 7000 + j, wall + j, mono)
        serial, seq = 7000 + j, 100 + j
        if odd == "forged serial" and j == 2:
            serial ^= 1
        if odd == "wrong host" and j == 2:
            src = "127.0.0.99"
        if odd == "duplicate" and j == 3:
            seq, serial, src = 100, 7000, "127.0.0.1"  # the first reply again
        stamp = wall + j + 0.002
        fill(box, j, reply(ident, seq, serial), src, (int(stamp), round(stamp % 1 * 1e9)))
    reader._match(fam, box, 4)  # type: ignore[arg-type]
    refused = {"forged serial": 2, "wrong host": 2, "duplicate": 3}.get(odd)
    for j, owner in enumerate(owners):
        if j == refused or (odd == "duplicate" and j == 3):
            assert owner.got == []
            continue
        [(index, rtt, sent)] = owner.got  # once, with its own index and send time
        assert (index, sent) == (j, wall + j)
        assert rtt == pytest.approx(0.002, abs=1e-6)
    assert fam.unmatched == (1 if refused is not None else 0)
    # What was refused stays pending (a forgery must not take the true reply's place).
    left = {2: [102], 3: [103]}.get(refused, []) if odd != "duplicate" else [103]
    assert sorted(fam.pending) == left
