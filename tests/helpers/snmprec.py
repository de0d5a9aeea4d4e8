"""Read snmpsim .snmprec recordings directly (independent of the code under test).

Lines are `OID|type|value`; type tags per snmpsim: 2 INTEGER, 4 OCTET STRING (4x hex, 4e
backslash-escaped), 5 NULL, 6 OID, 64 IpAddress, 65 Counter32, 66 Gauge32, 67 TimeTicks,
68 Opaque, 70 Counter64. A variation suffix (`70:numeric`) is kept in `tag`.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Record:
    oid: tuple[int, ...]
    tag: str
    raw: str

    @property
    def text(self) -> str:
        base = self.tag.split(":")[0]
        if base == "4x":
            return bytes.fromhex(self.raw).decode("utf-8", errors="replace")
        if base == "4e":
            return codecs.escape_decode(self.raw.encode())[0].decode("utf-8", errors="replace")
        return self.raw

    @property
    def number(self) -> int:
        return int(self.raw)


def read(path: Path) -> dict[tuple[int, ...], Record]:
    out: dict[tuple[int, ...], Record] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()  # as snmpsim does (grammar/snmprec.py)
            if not line or line.startswith("#"):
                continue
            oid_s, tag, raw = line.split("|", 2)
            oid = tuple(int(x) for x in oid_s.split("."))
            out[oid] = Record(oid, tag, raw)
    return out


def column(recs: dict[tuple[int, ...], Record], prefix: str) -> dict[tuple[int, ...], Record]:
    """Records under prefix, keyed by the index that follows it."""
    root = tuple(int(x) for x in prefix.split("."))
    n = len(root)
    return {oid[n:]: r for oid, r in recs.items() if oid[:n] == root and len(oid) > n}


def scalar(recs: dict[tuple[int, ...], Record], oid: str) -> Record | None:
    return recs.get(tuple(int(x) for x in oid.split(".")))
