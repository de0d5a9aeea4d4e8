"""What v1/v2c (engine.py) and v3 (v3.py) share of a reply: error-status and the walk.

Its own module so that neither client imports the other.
"""

from __future__ import annotations

from collections.abc import Sequence

from netwatch.collectors.snmp import ber
from netwatch.collectors.snmp.types import OID, Kind, SnmpError, Target, Value

_ERROR_REASONS = {
    ber.TOO_BIG: "too_big",
    ber.NO_SUCH_NAME: "no_such_object",
    ber.AUTHORIZATION_ERROR: "auth",
}
# RFC 3416 error-status names, by value.
_ERROR_NAMES = (
    *("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess"),
    *("wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation"),
    *("inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed"),
    *("authorizationError", "notWritable", "inconsistentName"),
)
_END_OF_MIB_VIEW = Kind.END_OF_MIB_VIEW


def error_reason(status: int) -> str:
    return _ERROR_REASONS.get(status, "protocol")


def error_name(status: int) -> str:
    return _ERROR_NAMES[status] if 0 <= status < len(_ERROR_NAMES) else f"error {status}"


def check_status(target: Target, msg: ber.Message, oids: Sequence[OID]) -> None:
    """Raise SnmpError for a non-zero error-status."""
    status = msg.error_status
    if status == 0:
        return
    where = ""
    if 0 < msg.error_index <= len(oids):
        where = " at " + ".".join(map(str, oids[msg.error_index - 1]))
    raise SnmpError(error_reason(status), f"{target.address}: {error_name(status)}{where}")


class Walker:
    """The walk state machine shared by v1/v2c and v3: subtree, order and row bounds."""

    __slots__ = ("done", "last", "max_rows", "root", "rows", "truncated")

    def __init__(self, root: OID, max_rows: int) -> None:
        self.root = tuple(root)
        self.last: OID = self.root
        self.rows: list[tuple[OID, Value]] = []
        self.max_rows = max_rows
        self.done = False
        self.truncated = False

    def feed(self, target: Target, varbinds: Sequence[tuple[OID, Value]]) -> None:
        root, n = self.root, len(self.root)
        rows = self.rows
        last = self.last
        room = self.max_rows - len(rows)
        end_kind = _END_OF_MIB_VIEW
        taken = 0
        for oid, value in varbinds:
            if value.kind is end_kind or oid[:n] != root:
                self.done = True
                break
            if oid <= last:
                raise SnmpError(
                    "protocol",
                    f"{target.address}: OID not increasing: "
                    f"{'.'.join(map(str, oid))} after {'.'.join(map(str, last))}",
                )
            if taken == room:
                self.done = self.truncated = True
                break
            last = oid
            taken += 1
        rows.extend(varbinds[:taken])
        self.last = last
