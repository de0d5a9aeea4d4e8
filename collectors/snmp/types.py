"""Types shared by the SNMP engine, the profiles and the collector."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

OID = tuple[int, ...]


def parse_oid(text: str) -> OID:
    """'1.3.6.1.2.1.1.3.0' (a leading dot allowed) → (1, 3, 6, 1, 2, 1, 1, 3, 0)."""
    return tuple(int(part) for part in text.strip().lstrip(".").split("."))


def format_oid(oid: OID) -> str:
    return ".".join(map(str, oid))


class Kind(enum.IntEnum):
    """BER tags of SNMP values (RFC 3416), exceptions included."""

    INTEGER = 0x02
    OCTET_STRING = 0x04
    NULL = 0x05
    OBJECT_IDENTIFIER = 0x06
    IP_ADDRESS = 0x40
    COUNTER32 = 0x41
    GAUGE32 = 0x42
    TIMETICKS = 0x43
    OPAQUE = 0x44
    COUNTER64 = 0x46
    NO_SUCH_OBJECT = 0x80
    NO_SUCH_INSTANCE = 0x81
    END_OF_MIB_VIEW = 0x82


@dataclass(frozen=True, slots=True)
class Value:
    """One varbind value: ints for numeric kinds, bytes for strings/IpAddress/Opaque."""

    kind: Kind
    value: int | bytes | OID | None

    @property
    def is_exception(self) -> bool:
        return self.kind >= Kind.NO_SUCH_OBJECT


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how to reach one agent; secrets already resolved."""

    address: str
    port: int = 161
    version: str = "2c"  # "1" | "2c" | "3"
    community: str = "public"
    user: str | None = None
    auth_protocol: str | None = None
    auth_key: str | None = None
    priv_protocol: str | None = None
    priv_key: str | None = None
    context: str = ""
    timeout: float = 2.0
    retries: int = 1
    max_repetitions: int = 25
    bulk_varbinds: int = 100  # walk_many: varbinds one request asks for (0: a column at a time)


class SnmpError(Exception):
    """A failed request for one device; reason is a short label used in metrics (timeout, auth,
    decode, no_such_object, too_big, protocol, resolve)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SnmpClient(Protocol):
    async def get(self, target: Target, oids: Sequence[OID]) -> dict[OID, Value]: ...

    async def walk(
        self, target: Target, root: OID, *, max_rows: int = 100_000
    ) -> list[tuple[OID, Value]]: ...

    async def walk_many(
        self, target: Target, roots: Sequence[OID], *, max_rows: int = 100_000
    ) -> dict[OID, list[tuple[OID, Value]] | SnmpError]: ...
