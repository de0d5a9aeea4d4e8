"""A gzip body joined from deflate segments compressed apart, so a scrape can reuse old ones.

Each segment is raw deflate ended by a full flush: byte-aligned, no final block, and no
reference to data before it, so segments from different compressors (this scrape's and a kept
one from an earlier scrape) concatenate into one valid deflate stream (RFC 1951). The gzip
trailer's CRC-32 of the whole is combined from each segment's own CRC and length, as zlib's
`crc32_combine` does (not exposed by Python's zlib): GF(2) operators for 2^k zero bytes,
built once (issue 10: an unchanged slice of /metrics costs neither its text nor its gzip).
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

# gzip member header (RFC 1952): deflate, no flags, no mtime, XFL 4 (fastest), OS 3 (Unix).
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\x03"
FINAL = b"\x03\x00"  # an empty last block (fixed Huffman codes): ends the deflate stream


@dataclass(frozen=True, slots=True)
class Deflated:
    """Raw deflate of `size` bytes whose CRC-32 is `crc`, ending on a full flush."""

    data: bytes
    crc: int
    size: int


def deflate(text: bytes, level: int) -> Deflated:
    """text as a segment (a compressor of its own: no back-reference outside it)."""
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    return Deflated(
        comp.compress(text) + comp.flush(zlib.Z_FULL_FLUSH), zlib.crc32(text), len(text)
    )


def stored(data: bytes) -> Deflated:
    """data as stored (uncompressed) blocks: no compressor at all, for the few bytes between two
    kept slices (a family's header), which are not worth a trip to the gzip thread."""
    out = bytearray()
    for at in range(0, len(data), 0xFFFF):
        block = data[at : at + 0xFFFF]
        out += b"\x00" + struct.pack("<HH", len(block), len(block) ^ 0xFFFF) + block
    return Deflated(bytes(out), zlib.crc32(data), len(data))


def _times(op: list[int], vec: int) -> int:
    out, i = 0, 0
    while vec:
        if vec & 1:
            out ^= op[i]
        vec >>= 1
        i += 1
    return out


def _square(op: list[int]) -> list[int]:
    return [_times(op, row) for row in op]


def _zero_byte_operators(count: int) -> list[list[int]]:
    """Operator k appends 2^k zero bytes to a CRC-32 (zlib's crc32_combine, precomputed)."""
    op = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit (the reflected polynomial)
    op = _square(_square(_square(op)))  # eight bits: one byte
    ops = []
    for _ in range(count):
        ops.append(op)
        op = _square(op)
    return ops


_OPS = _zero_byte_operators(48)


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A+B from crc1 = crc32(A), crc2 = crc32(B) and len2 = len(B)."""
    k = 0
    while len2:
        if len2 & 1:
            crc1 = _times(_OPS[k], crc1)
        len2 >>= 1
        k += 1
    return crc1 ^ crc2


def gzip_member(segments: Iterable[Deflated]) -> tuple[list[bytes], int]:
    """The gzip member's pieces (header, every segment's bytes, last block, trailer) and the
    size of the data it holds."""
    out = [HEADER]
    crc = size = 0
    for seg in segments:
        if seg.size:
            out.append(seg.data)
            crc = crc32_combine(crc, seg.crc, seg.size)
            size += seg.size
    out.append(FINAL + struct.pack("<II", crc, size & 0xFFFFFFFF))
    return out, size


class Kept:
    """One slice of a family's lines for a gzip scrape: its inputs' key, and either its text to
    compress (new) or its deflate segment from an earlier scrape (kept while the key holds);
    neither for a slice that changed at the last scrape (only its key noted). calm: the last
    scrape found the slice unchanged (then a change is kept, for the next unchanged scrape)."""

    __slots__ = ("calm", "deflated", "key", "text")

    def __init__(self, key: tuple[object, ...], text: bytes | None, calm: bool = False) -> None:
        self.key = key
        self.text = text
        self.deflated: Deflated | None = None
        self.calm = calm

    def done(self, deflated: Deflated) -> None:
        """The compressor's segment for text: kept, the text dropped."""
        self.deflated, self.text = deflated, None


def kept_slices(
    kept: dict[tuple[str, int], Kept],
    name: str,
    starts: range,
    key_of: Callable[[int], tuple[object, ...]],
    write: Callable[[int], str],
) -> Iterator[Kept]:
    """Each slice of family name kept from the last gzip scrape while its key holds; the
    others written again (and kept under their new key)."""
    for a in starts:
        key = key_of(a)
        old = kept.get((name, a))
        if old is not None and old.key == key and old.deflated is not None:
            yield old
        else:
            new = kept[(name, a)] = Kept(key, write(a).encode())
            yield new


def digest(values: memoryview, on: memoryview) -> bytes:
    """A slice's values and presence bytes, hashed (BLAKE2b, 128 bits: ~0.1 ms a slice)."""
    h = hashlib.blake2b(values, digest_size=16)
    h.update(on)
    return h.digest()
