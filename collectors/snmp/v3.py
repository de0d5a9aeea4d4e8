"""SNMPv3 (USM) through pysnmp 7's v3arch asyncio API, numeric OIDs only (lookupMib=False).

Protocol names follow net-snmp: aes192/aes256 use the Blumenthal key extension (net-snmp's
AES-192/AES-256), aes192c/aes256c the Reeder ("Cisco") one (net-snmp's AES192C/AES256C).
pysnmp and pyasn1 carry no type information, so their objects are Any here; they never leave
this module (to_value turns them into netwatch Values).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyasn1.type import univ
from pysnmp.hlapi.v3arch import asyncio as hl
from pysnmp.proto import errind, rfc1902, rfc1905

from netwatch.collectors.snmp.types import OID, Kind, SnmpError, Target, Value
from netwatch.collectors.snmp.walk import Walker, error_name, error_reason

AUTH_PROTOCOLS = {
    "md5": hl.usmHMACMD5AuthProtocol,
    "sha": hl.usmHMACSHAAuthProtocol,
    "sha224": hl.usmHMAC128SHA224AuthProtocol,
    "sha256": hl.usmHMAC192SHA256AuthProtocol,
    "sha384": hl.usmHMAC256SHA384AuthProtocol,
    "sha512": hl.usmHMAC384SHA512AuthProtocol,
}
PRIV_PROTOCOLS = {
    "des": hl.usmDESPrivProtocol,
    "aes": hl.usmAesCfb128Protocol,
    "aes128": hl.usmAesCfb128Protocol,
    "aes192": hl.usmAesBlumenthalCfb192Protocol,
    "aes256": hl.usmAesBlumenthalCfb256Protocol,
    "aes192c": hl.usmAesCfb192Protocol,
    "aes256c": hl.usmAesCfb256Protocol,
}
_AUTH_ERRORS = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.DecryptionError,
    errind.UnknownSecurityName,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
    errind.UnsupportedSecurityLevel,
    errind.UnsupportedAuthProtocol,
    errind.UnsupportedPrivProtocol,
    errind.NotInTimeWindow,
    errind.NoAuthentication,
)
_KINDS = {
    univ.Integer.tagSet: Kind.INTEGER,
    univ.OctetString.tagSet: Kind.OCTET_STRING,
    univ.Null.tagSet: Kind.NULL,
    univ.ObjectIdentifier.tagSet: Kind.OBJECT_IDENTIFIER,
    rfc1902.IpAddress.tagSet: Kind.IP_ADDRESS,
    rfc1902.Counter32.tagSet: Kind.COUNTER32,
    rfc1902.Gauge32.tagSet: Kind.GAUGE32,
    rfc1902.TimeTicks.tagSet: Kind.TIMETICKS,
    rfc1902.Opaque.tagSet: Kind.OPAQUE,
    rfc1902.Counter64.tagSet: Kind.COUNTER64,
    rfc1905.NoSuchObject.tagSet: Kind.NO_SUCH_OBJECT,
    rfc1905.NoSuchInstance.tagSet: Kind.NO_SUCH_INSTANCE,
    rfc1905.EndOfMibView.tagSet: Kind.END_OF_MIB_VIEW,
}
_INT_KINDS = frozenset((Kind.INTEGER, Kind.COUNTER32, Kind.GAUGE32, Kind.TIMETICKS, Kind.COUNTER64))
_BYTES_KINDS = frozenset((Kind.OCTET_STRING, Kind.IP_ADDRESS, Kind.OPAQUE))


def to_value(obj: Any) -> Value:
    """A pysnmp/pyasn1 value as a netwatch Value."""
    kind = _KINDS.get(obj.tagSet)
    if kind is None:
        raise SnmpError("decode", f"unexpected value type {type(obj).__name__}")
    if kind in _INT_KINDS:
        return Value(kind, int(obj))
    if kind in _BYTES_KINDS:
        return Value(kind, bytes(obj.asOctets()))
    if kind == Kind.OBJECT_IDENTIFIER:
        return Value(kind, tuple(obj))
    return Value(kind, None)


def usm_user(target: Target) -> hl.UsmUserData:
    """UsmUserData for the target; unknown protocol names are a clear error."""
    if not target.user:
        raise SnmpError("auth", f"{target.address}: SNMPv3 needs a user name")
    kwargs: dict[str, Any] = {}
    if target.auth_protocol:
        proto = AUTH_PROTOCOLS.get(target.auth_protocol.lower())
        if proto is None:
            raise SnmpError("auth", f"unknown auth protocol {target.auth_protocol!r}")
        kwargs.update(authKey=target.auth_key or "", authProtocol=proto)
    if target.priv_protocol:
        if not target.auth_protocol:
            raise SnmpError("auth", "a privacy protocol needs an auth protocol")
        proto = PRIV_PROTOCOLS.get(target.priv_protocol.lower())
        if proto is None:
            raise SnmpError("auth", f"unknown privacy protocol {target.priv_protocol!r}")
        kwargs.update(privKey=target.priv_key or "", privProtocol=proto)
    return hl.UsmUserData(target.user, **kwargs)


def _raise_indication(target: Target, indication: Any) -> None:
    text = f"{target.address}:{target.port}: {indication}"
    if isinstance(indication, errind.RequestTimedOut):
        raise SnmpError("timeout", text)
    if isinstance(indication, _AUTH_ERRORS):
        raise SnmpError("auth", text)
    if isinstance(indication, errind.TooBig):
        raise SnmpError("too_big", text)
    raise SnmpError("protocol", text)


class V3Client:
    """One pysnmp SnmpEngine shared by all v3 targets."""

    def __init__(self) -> None:
        self._engine = hl.SnmpEngine()
        self._users: dict[Target, hl.UsmUserData] = {}
        self._transports: dict[Target, Any] = {}

    def close(self) -> None:
        self._engine.close_dispatcher()

    async def _args(self, target: Target) -> tuple[Any, ...]:
        user = self._users.get(target)
        if user is None:
            user = self._users[target] = usm_user(target)
        transport = self._transports.get(target)
        if transport is None:
            transport = await hl.UdpTransportTarget.create(
                (target.address, target.port), timeout=target.timeout, retries=target.retries
            )
            self._transports[target] = transport
        context = hl.ContextData(contextName=target.context.encode())
        return self._engine, user, transport, context

    async def _call(self, target: Target, cmd: Any, *args: Any) -> list[tuple[OID, Value]]:
        base = await self._args(target)
        indication, status, index, varbinds = await cmd(*base, *args, lookupMib=False)
        if indication:
            _raise_indication(target, indication)
        status = int(status)
        if status:
            raise SnmpError(
                error_reason(status), f"{target.address}: {error_name(status)} (index {index})"
            )
        return [(tuple(vb[0]), to_value(vb[1])) for vb in varbinds]

    async def get(self, target: Target, oids: Sequence[OID]) -> dict[OID, Value]:
        objs = [_object(oid) for oid in oids]
        return dict(await self._call(target, hl.get_cmd, *objs))

    async def walk(
        self, target: Target, root: OID, *, max_rows: int = 100_000
    ) -> list[tuple[OID, Value]]:
        walker = Walker(root, max_rows)
        reps = max(1, target.max_repetitions)
        while not walker.done:
            try:
                varbinds = await self._call(target, hl.bulk_cmd, 0, reps, _object(walker.last))
            except SnmpError as exc:
                if exc.reason in ("timeout", "too_big") and reps > 1:
                    reps //= 2
                    continue
                raise
            if not varbinds:
                break
            walker.feed(target, varbinds)
        return walker.rows


def _object(oid: OID) -> hl.ObjectType:
    return hl.ObjectType(hl.ObjectIdentity(".".join(map(str, oid))))
