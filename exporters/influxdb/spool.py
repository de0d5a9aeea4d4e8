"""A bounded, crash-safe on-disk queue of line-protocol records.

Segment files `<seq>.seg` hold records `[length u32][crc32 u32][points u32][payload]`; the file
`committed` names the position up to which the server has acknowledged. Every record is written
with one write(2) as soon as it is appended, so a kill -9 loses nothing already appended (the
page cache keeps it); `sync()` fsyncs, which the exporter calls every `spool_sync_interval`, so
a power cut loses at most that interval. A torn last record (crash mid-write) fails its length or
CRC check and is cut off on open. The commit file holds two fixed 64-byte slots written in turn
in place (each with a generation and a CRC), so committing never needs a new disk block: a full
disk cannot stop commits, and commits are what free the disk. It is not fsynced: after a power
cut it may name an older position, which only means re-sending (at-least-once). Segments are
deleted only after the commit that covers them was written, so a restart never re-sends a
batch the server acknowledged. Just over 400 lines: the segments, the commit slots and the
recovery on open are one on-disk format, and its crash-safety is argued in one place.
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<III")
_COMMIT_FILE = "committed"
_SLOT = 64  # bytes per commit slot; two slots
_LOCK_FILE = "lock"  # flock: one process per spool (released by the kernel on kill -9)
_SUFFIX = ".seg"


def _crc(payload: bytes, points: int) -> int:
    return zlib.crc32(payload, zlib.crc32(points.to_bytes(4, "little")))


class SpoolError(Exception):
    """The spool directory cannot be used (message names it)."""


@dataclass(slots=True)
class Record:
    seq: int  # segment
    end: int  # offset just after this record in its segment
    points: int
    payload: bytes


@dataclass(slots=True)
class _Segment:
    seq: int
    path: Path
    size: int = 0  # bytes of valid records
    unread_points: int = 0  # points not yet handed to the sender


class Spool:
    """Append records, read them in order, commit what the server acknowledged."""

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int) -> None:
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        # Eviction works per segment: small enough to drop little, large enough for few files.
        self.segment_bytes = max(4096, min(64 << 20, max_bytes // 8))
        self.dropped_points = 0  # evicted before being read, since open
        self._segments: list[_Segment] = []
        self._fd = -1
        self._dirty = False
        self._read_seq = 0
        self._read_off = 0
        self._read_fh: BinaryIO | None = None
        self._read_fh_seq = -1
        self._lock_fd = -1
        self._commit_fd = -1
        self._commit_gen = 0

    # -- open / close -------------------------------------------------------------------

    def open(self) -> None:
        """Recover from the directory: drop committed segments, cut a torn tail.

        Raises SpoolError naming the directory when it cannot be used.
        """
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SpoolError(f"spool directory {self.dir}: {exc.strerror or exc}") from exc
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            self._lock_fd = -1
            raise SpoolError(
                f"spool directory {self.dir} is in use by another netwatch process"
            ) from None
        try:
            self._open_commit_file()
        except OSError as exc:
            self.close()
            raise SpoolError(f"spool directory {self.dir}: {exc.strerror or exc}") from exc
        seqs = sorted(
            int(p.name[: -len(_SUFFIX)])
            for p in self.dir.iterdir()
            if p.name.endswith(_SUFFIX) and p.name[: -len(_SUFFIX)].isdigit()
        )
        cseq, coff = self._load_commit()
        for seq in seqs:
            path = self._path(seq)
            if seq < cseq:
                path.unlink(missing_ok=True)
                continue
            seg = _Segment(seq, path)
            start = coff if seq == cseq else 0
            seg.size, seg.unread_points, counted_from = self._scan(path, start)
            if counted_from != start:  # commit offset not on a record boundary: resend all
                log.warning("spool %s: commit offset %d is not a record start", path, start)
                start = 0
            if seg.size < path.stat().st_size:
                log.warning(
                    "spool %s: cut torn or corrupt tail at byte %d of %d",
                    path,
                    seg.size,
                    path.stat().st_size,
                )
                os.truncate(path, seg.size)
            self._segments.append(seg)
            if len(self._segments) == 1:
                self._read_seq, self._read_off = seq, start
        # Never reuse the committed segment's number: its offset must not apply to a new file.
        next_seq = (self._segments[-1].seq + 1) if self._segments else cseq + 1
        self._start_segment(next_seq)
        if len(self._segments) == 1:
            self._read_seq, self._read_off = next_seq, 0
        self._evict(0)

    def close(self) -> None:
        try:
            self.sync()
        except OSError as exc:
            log.error("spool %s: fsync at close failed: %s", self.dir, exc)
        if self._commit_fd >= 0:
            os.close(self._commit_fd)
            self._commit_fd = -1
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = -1
        if self._read_fh is not None:
            self._read_fh.close()
            self._read_fh = None

    # -- writing ------------------------------------------------------------------------

    def append(self, payload: bytes, points: int) -> None:
        """Write one record now (one write(2)); evict the oldest segments if over the bound."""
        crc = _crc(payload, points)
        data = _HEADER.pack(len(payload), crc, points) + payload
        active = self._segments[-1]
        if active.size and active.size + len(data) > self.segment_bytes:
            self._start_segment(active.seq + 1)
            active = self._segments[-1]
        self._evict(len(data))
        try:
            written = os.write(self._fd, data)
        except OSError:
            self._cut(active)
            raise
        if written != len(data):  # a full disk takes what fits: never leave half a record
            self._cut(active)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        active.size += len(data)
        active.unread_points += points
        self._dirty = True

    def _cut(self, seg: _Segment) -> None:
        try:
            os.ftruncate(self._fd, seg.size)
        except OSError as exc:  # the torn tail is cut at the next open instead
            log.error("spool %s: cannot cut a partial record: %s", seg.path, exc)

    def sync(self) -> None:
        if self._dirty and self._fd >= 0:
            os.fsync(self._fd)
            self._dirty = False

    # -- reading ------------------------------------------------------------------------

    def read(self, max_points: int) -> list[Record]:
        """Next records after the read cursor, up to max_points (always at least one record)."""
        out: list[Record] = []
        total = 0
        while True:
            seg = self._segment(self._read_seq)
            if seg is None:
                return out
            if self._read_off >= seg.size:
                if seg is self._segments[-1]:
                    return out
                self._read_seq, self._read_off = self._next_seq(seg.seq), 0
                continue
            fh = self._reader(seg)
            fh.seek(self._read_off)
            header = fh.read(_HEADER.size)
            length, crc, points = _HEADER.unpack(header)
            if out and total + points > max_points:
                return out
            payload = fh.read(length)
            end = self._read_off + _HEADER.size + length
            if _crc(payload, points) != crc:
                # Only an older run's segment can hold this (ours are written whole).
                log.error("spool %s: bad record at %d, skipping segment", seg.path, self._read_off)
                seg.unread_points = 0
                self._read_off = seg.size
                continue
            seg.unread_points -= points
            out.append(Record(seg.seq, end, points, payload))
            total += points
            self._read_off = end
            if total >= max_points:
                return out

    def commit(self, seq: int, end: int) -> None:
        """The server has everything up to (seq, end): persist that and delete spent segments.

        Raises OSError when the position cannot be written; nothing is deleted then, and the
        next commit (a later position) writes it.
        """
        self._commit_gen += 1
        body = f"{self._commit_gen} {seq} {end}"
        slot = f"{body} {zlib.crc32(body.encode())}".ljust(_SLOT - 1).encode() + b"\n"
        # In place, into blocks allocated at open: no new block, so no ENOSPC.
        os.pwrite(self._commit_fd, slot, (self._commit_gen % 2) * _SLOT)
        while len(self._segments) > 1 and (
            self._segments[0].seq < seq
            or (self._segments[0].seq == seq and end >= self._segments[0].size)
        ):
            self._remove_first()
        only = self._segments[0]
        if len(self._segments) == 1 and only.seq == seq and end >= only.size > 0:
            # Everything written was acknowledged: start afresh so the disk space comes back
            # now, not when the segment would have filled (on a full disk, never).
            try:
                self._start_segment(only.seq + 1)
            except OSError as exc:
                log.warning("spool %s: cannot start a new segment yet: %s", self.dir, exc)
                return
            self._remove_first()

    def rewind(self) -> None:
        """Forget what was read but not committed: the next read starts at the commit."""
        cseq, coff = self._load_commit()
        first = self._segments[0]
        if cseq < first.seq:
            cseq, coff = first.seq, 0
        self._read_seq, self._read_off = cseq, coff
        for seg in self._segments:
            if seg.seq < cseq:
                seg.unread_points = 0
            else:
                start = coff if seg.seq == cseq else 0
                seg.unread_points = self._scan(seg.path, start)[1]

    # -- figures ------------------------------------------------------------------------

    @property
    def bytes(self) -> int:
        return sum(s.size for s in self._segments)

    @property
    def unread_points(self) -> int:
        return sum(s.unread_points for s in self._segments)

    # -- internals ----------------------------------------------------------------------

    def _path(self, seq: int) -> Path:
        return self.dir / f"{seq:016d}{_SUFFIX}"

    def _segment(self, seq: int) -> _Segment | None:
        for s in self._segments:
            if s.seq == seq:
                return s
        return None

    def _next_seq(self, seq: int) -> int:
        for s in self._segments:
            if s.seq > seq:
                return s.seq
        return seq

    def _reader(self, seg: _Segment):
        if self._read_fh_seq != seg.seq:
            if self._read_fh is not None:
                self._read_fh.close()
            self._read_fh = open(seg.path, "rb")  # noqa: SIM115
            self._read_fh_seq = seg.seq
        return self._read_fh

    def _start_segment(self, seq: int) -> None:
        path = self._path(seq)
        # The new file first: if it cannot be made, the current one stays in use.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
        if self._fd >= 0:
            try:
                self.sync()
            except OSError as exc:
                log.error("spool %s: fsync failed: %s", self.dir, exc)
            os.close(self._fd)
        self._fd = fd
        self._segments.append(_Segment(seq, path))
        self._dirty = True

    def _evict(self, incoming: int) -> None:
        while len(self._segments) > 1 and self.bytes + incoming > self.max_bytes:
            seg = self._segments[0]
            self.dropped_points += seg.unread_points
            log.warning(
                "spool full (%d bytes): dropped %d unsent points of %s",
                self.max_bytes,
                seg.unread_points,
                seg.path.name,
            )
            self._remove_first()

    def _remove_first(self) -> None:
        seg = self._segments.pop(0)
        if self._read_fh_seq == seg.seq and self._read_fh is not None:
            self._read_fh.close()
            self._read_fh, self._read_fh_seq = None, -1
        if self._read_seq <= seg.seq:
            self._read_seq, self._read_off = self._segments[0].seq, 0
        seg.path.unlink(missing_ok=True)

    def _open_commit_file(self) -> None:
        """Open the commit file and give it its two slots' blocks now, while there is room."""
        path = self.dir / _COMMIT_FILE
        self._commit_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        size = os.fstat(self._commit_fd).st_size
        if size < 2 * _SLOT:
            os.pwrite(self._commit_fd, b"\n" * (2 * _SLOT - size), size)
        gen = self._read_slots()[0]
        self._commit_gen = max(gen, 0)

    def _read_slots(self) -> tuple[int, int, int]:
        """(generation, seq, offset) of the newest valid slot; generation -1 when none."""
        data = os.pread(self._commit_fd, 2 * _SLOT, 0) if self._commit_fd >= 0 else b""
        best = (-1, 0, 0)
        corrupt = False
        for raw in (data[:_SLOT], data[_SLOT:]):
            fields = raw.split()
            try:
                if len(fields) == 4:  # generation seq offset crc
                    body = b" ".join(fields[:3])
                    ok = zlib.crc32(body) == int(fields[3])
                    gen, seq, off = (int(f) for f in fields[:3])
                elif len(fields) == 3:  # the format before slots: seq offset crc
                    seq, off = int(fields[0]), int(fields[1])
                    ok = zlib.crc32(f"{seq} {off}".encode()) == int(fields[2])
                    gen = 0
                else:
                    corrupt |= bool(fields)
                    continue
            except ValueError:
                corrupt = True
                continue
            if not ok:
                corrupt = True
            elif gen > best[0]:
                best = (gen, seq, off)
        if corrupt and best[0] < 0:
            log.warning("spool %s: corrupt commit file, resending all", self.dir)
        return best

    def _load_commit(self) -> tuple[int, int]:
        try:
            gen, seq, off = self._read_slots()
        except OSError as exc:
            log.warning("spool %s: unreadable commit file (%s), resending all", self.dir, exc)
            return 0, 0
        return (seq, off) if gen >= 0 else (0, 0)

    @staticmethod
    def _scan(path: Path, start: int) -> tuple[int, int, int]:
        """(valid size, points from start, where counting started) of one segment file."""
        with open(path, "rb") as fh:
            data = fh.read()
        off = 0
        records: list[tuple[int, int]] = []  # (offset, points)
        while off + _HEADER.size <= len(data):
            length, crc, n = _HEADER.unpack_from(data, off)
            end = off + _HEADER.size + length
            if end > len(data):
                break
            if _crc(data[off + _HEADER.size : end], n) != crc:
                break
            records.append((off, n))
            off = end
        if start != off and start not in {o for o, _ in records}:
            start = 0
        return off, sum(n for o, n in records if o >= start), start
