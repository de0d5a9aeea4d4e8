"""The spool: order, commit, recovery after a torn write, and the size bound."""

from __future__ import annotations

import os
from pathlib import Path

from netwatch.exporters.influxdb.spool import Spool


def payloads(spool: Spool, max_points: int = 10_000) -> list[bytes]:
    return [r.payload for r in spool.read(max_points)]


def test_records_come_back_in_order_and_commit_survives_reopen(tmp_path: Path) -> None:
    s = Spool(tmp_path, 1 << 20)
    s.open()
    for i in range(10):
        s.append(f"m v={i}i".encode(), 1)
    first = s.read(4)
    assert [r.payload for r in first] == [f"m v={i}i".encode() for i in range(4)]
    s.commit(first[-1].seq, first[-1].end)
    s.close()

    s2 = Spool(tmp_path, 1 << 20)
    s2.open()
    assert s2.unread_points == 6
    assert payloads(s2) == [f"m v={i}i".encode() for i in range(4, 10)]
    s2.close()


def test_uncommitted_records_are_read_again_after_reopen(tmp_path: Path) -> None:
    s = Spool(tmp_path, 1 << 20)
    s.open()
    s.append(b"a x=1i", 1)
    s.append(b"b x=2i", 1)
    assert payloads(s) == [b"a x=1i", b"b x=2i"]  # read, never committed (crash)
    s.close()
    s2 = Spool(tmp_path, 1 << 20)
    s2.open()
    assert payloads(s2) == [b"a x=1i", b"b x=2i"]
    s2.close()


def test_torn_last_record_is_cut_off(tmp_path: Path) -> None:
    s = Spool(tmp_path, 1 << 20)
    s.open()
    s.append(b"good x=1i", 1)
    s.append(b"torn x=2i", 1)
    s.close()
    seg = sorted(tmp_path.glob("*.seg"))[-1]
    size = seg.stat().st_size
    os.truncate(seg, size - 3)  # a crash in the middle of the last write(2)
    s2 = Spool(tmp_path, 1 << 20)
    s2.open()
    assert payloads(s2) == [b"good x=1i"]
    s2.append(b"after x=3i", 1)
    assert payloads(s2) == [b"after x=3i"]
    s2.close()


def test_corrupt_record_fails_crc(tmp_path: Path) -> None:
    s = Spool(tmp_path, 1 << 20)
    s.open()
    s.append(b"good x=1i", 1)
    s.append(b"flip x=2i", 1)
    s.close()
    seg = sorted(tmp_path.glob("*.seg"))[-1]
    data = bytearray(seg.read_bytes())
    data[-1] ^= 0xFF
    seg.write_bytes(bytes(data))
    s2 = Spool(tmp_path, 1 << 20)
    s2.open()
    assert payloads(s2) == [b"good x=1i"]
    s2.close()


def test_garbage_commit_file_means_resend_not_loss(tmp_path: Path) -> None:
    s = Spool(tmp_path, 1 << 20)
    s.open()
    s.append(b"a x=1i", 1)
    r = s.read(10)
    s.commit(r[-1].seq, r[-1].end)
    s.append(b"b x=2i", 1)
    s.close()
    (tmp_path / "committed").write_text("12 nonsense\n")
    s2 = Spool(tmp_path, 1 << 20)
    s2.open()
    assert b"b x=2i" in payloads(s2)
    s2.close()


def test_full_spool_drops_oldest_and_counts(tmp_path: Path) -> None:
    s = Spool(tmp_path, 64 * 1024)  # segments of 8 KiB
    s.open()
    record = b"m v=1i," + b"x" * 1000  # ~1 KiB each, 1 point
    n = 200
    for i in range(n):
        s.append(record + str(i).encode(), 1)
    assert s.bytes <= 64 * 1024
    got = payloads(s)
    assert s.dropped_points + len(got) == n
    assert s.dropped_points > 0
    # What survives is the newest, still in order.
    assert got == [record + str(i).encode() for i in range(n - len(got), n)]
    s.close()


def test_spent_segments_are_deleted(tmp_path: Path) -> None:
    s = Spool(tmp_path, 64 * 1024)
    s.open()
    for _ in range(100):
        s.append(b"m v=1i," + b"y" * 500, 1)
    assert len(list(tmp_path.glob("*.seg"))) > 2
    while True:
        records = s.read(7)
        if not records:
            break
        s.commit(records[-1].seq, records[-1].end)
    assert len(list(tmp_path.glob("*.seg"))) == 1
    assert s.unread_points == 0
    s.close()


def test_rewind_rereads_from_the_commit_and_restores_counts(tmp_path: Path) -> None:
    s = Spool(tmp_path, 1 << 20)
    s.open()
    for i in range(6):
        s.append(f"m v={i}i".encode(), 1)
    first = s.read(2)
    s.commit(first[-1].seq, first[-1].end)
    assert len(s.read(3)) == 3 and s.unread_points == 1
    s.rewind()
    assert s.unread_points == 4
    assert payloads(s) == [f"m v={i}i".encode() for i in range(2, 6)]
    s.close()


def test_new_segment_never_takes_the_committed_number(tmp_path: Path) -> None:
    s = Spool(tmp_path, 1 << 20)
    s.open()
    s.append(b"a x=1i", 1)
    r = s.read(10)
    s.commit(r[-1].seq, r[-1].end)
    s.close()
    for seg in tmp_path.glob("*.seg"):  # an operator cleaned the directory by hand
        seg.unlink()
    s2 = Spool(tmp_path, 1 << 20)
    s2.open()
    s2.append(b"b x=2i", 1)
    s2.close()
    s3 = Spool(tmp_path, 1 << 20)
    s3.open()
    assert payloads(s3) == [b"b x=2i"]
    s3.close()
