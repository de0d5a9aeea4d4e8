"""A lean BER codec for SNMP v1/v2c messages (RFC 1157, RFC 3416).

Decoding is strict: any malformed input (overrun, truncation, wrong tag, non-minimal or
indefinite length, out-of-range integer, trailing bytes) raises SnmpError("decode", ...).
Values are decoded straight into `Value` objects, with no intermediate object tree.
`decode_message` handles every v1/v2c PDU but the v1 Trap-PDU, which `decode_trap_v1` decodes.
Over 400 lines on purpose: one wire format, each type's encoder beside its decoder, so that a
rule of X.690 is read (and fixed) in one place for both directions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from netwatch.collectors.snmp.types import OID, Kind, SnmpError, Value

# PDU tags (context-specific, constructed).
GET = 0xA0
GETNEXT = 0xA1
RESPONSE = 0xA2
SET = 0xA3
TRAP_V1 = 0xA4
GETBULK = 0xA5
INFORM = 0xA6
TRAP_V2 = 0xA7
REPORT = 0xA8
_PDU_TAGS = frozenset((GET, GETNEXT, RESPONSE, SET, GETBULK, INFORM, TRAP_V2, REPORT))

VERSION_1 = 0
VERSION_2C = 1

# error-status values (RFC 3416 §3)
TOO_BIG = 1
NO_SUCH_NAME = 2
GEN_ERR = 5
AUTHORIZATION_ERROR = 16

_KIND = {int(k): k for k in Kind}
_UINT32_TAGS = frozenset((0x41, 0x42, 0x43))
_EXCEPTION_TAGS = frozenset((0x80, 0x81, 0x82))
_EXC_VALUES = {t: Value(_KIND[t], None) for t in _EXCEPTION_TAGS}
_NULL = Value(Kind.NULL, None)
_MAX_SUBID = 0xFFFFFFFF
_MAX_FIRST_ARC = _MAX_SUBID + 80  # the first sub-identifier packs 2.x arcs as 80 + x


class Message(NamedTuple):
    """A decoded v1/v2c message; for GETBULK, error_status/index hold non-repeaters/max-reps."""

    version: int
    community: bytes
    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[OID, Value]]


def _fail(msg: str) -> SnmpError:
    return SnmpError("decode", msg)


def _length(data: bytes, pos: int, limit: int) -> tuple[int, int]:
    """Read a definite, minimal length at pos; returns (length, position after it)."""
    if pos >= limit:
        raise _fail(f"truncated length at offset {pos}")
    n = data[pos]
    pos += 1
    if n < 0x80:
        if pos + n > limit:
            raise _fail(f"length {n} overruns its container at offset {pos}")
        return n, pos
    n &= 0x7F
    if n == 0:
        raise _fail(f"indefinite length at offset {pos - 1}")
    if n > 4 or pos + n > limit:
        raise _fail(f"bad long-form length at offset {pos - 1}")
    if data[pos] == 0:
        raise _fail(f"non-minimal length at offset {pos - 1}")
    length = int.from_bytes(data[pos : pos + n], "big")
    if length < 0x80:
        raise _fail(f"non-minimal length at offset {pos - 1}")
    pos += n
    if pos + length > limit:
        raise _fail(f"length {length} overruns its container at offset {pos}")
    return length, pos


def _int(data: bytes, start: int, end: int) -> int:
    """A signed 32-bit INTEGER.

    Redundant leading 0x00/0xFF octets are tolerated (pyasn1, hence snmpsim, pads some
    negative values); the value itself must fit in 32 bits.
    """
    n = end - start
    if n == 1:
        b = data[start]
        return b - 256 if b & 0x80 else b
    if n == 0 or n > 8:
        raise _fail(f"INTEGER of {n} bytes at offset {start}")
    value = int.from_bytes(data[start:end], "big", signed=True)
    if not -0x80000000 <= value <= 0x7FFFFFFF:
        raise _fail(f"INTEGER {value} out of 32-bit range at offset {start}")
    return value


def _uint(data: bytes, start: int, end: int, limit: int) -> int:
    """An unsigned value: Counter32/Gauge32/TimeTicks up to 2^32-1, Counter64 up to 2^64-1."""
    n = end - start
    if n == 0 or n > 12:
        raise _fail(f"unsigned value of {n} bytes at offset {start}")
    if data[start] & 0x80:
        raise _fail(f"negative unsigned value at offset {start}")
    value = int.from_bytes(data[start:end], "big")
    if value > limit:
        raise _fail(f"unsigned value {value} out of range at offset {start}")
    return value


def _oid(data: bytes, start: int, end: int) -> OID:
    if start == end:
        raise _fail(f"empty OID at offset {start}")
    raw = data[start:end]
    if raw[-1] & 0x80:
        raise _fail(f"truncated OID sub-identifier at offset {end - 1}")
    first = raw[0]
    if max(raw) < 0x80:
        # Common case: every sub-identifier below 128, one byte each.
        head = (first // 40, first % 40) if first < 80 else (2, first - 80)
        return head + tuple(raw[1:])
    arcs: list[int] = []
    value = 0
    fresh = True
    for b in raw:
        if fresh and b == 0x80:
            raise _fail(f"non-minimal OID sub-identifier at offset {start}")
        value = (value << 7) | (b & 0x7F)
        if value > _MAX_FIRST_ARC:
            # Checked per byte: one 60 KB sub-identifier would otherwise grow a 420,000-bit
            # integer one shift at a time (quadratic: half a second of CPU per datagram).
            raise _fail(f"OID sub-identifier above 2^32-1 at offset {start}")
        if b & 0x80:
            fresh = False
            continue
        if value > _MAX_SUBID and arcs:
            raise _fail(f"OID sub-identifier above 2^32-1 at offset {start}")
        arcs.append(value)
        value = 0
        fresh = True
    first = arcs[0]
    if first < 40:
        head = (0, first)
    elif first < 80:
        head = (1, first - 40)
    else:
        if first - 80 > _MAX_SUBID:
            raise _fail(f"OID sub-identifier above 2^32-1 at offset {start}")
        head = (2, first - 80)
    return head + tuple(arcs[1:])


def _header(data: bytes, pos: int, limit: int, tag: int, what: str) -> tuple[int, int]:
    """Check the tag at pos and read its length; returns (content start, content end)."""
    if pos >= limit:
        raise _fail(f"truncated before {what} at offset {pos}")
    if data[pos] != tag:
        raise _fail(f"expected {what} (tag 0x{tag:02x}), got 0x{data[pos]:02x} at offset {pos}")
    length, pos = _length(data, pos + 1, limit)
    return pos, pos + length


_OID_CACHE: dict[bytes, OID] = {}
_OID_CACHE_MAX = 200_000  # entries; polls repeat the same OIDs, so most lookups hit


def _cached_oid(raw: bytes, data: bytes, start: int, end: int) -> OID:
    oid = _OID_CACHE.get(raw)
    if oid is None:
        oid = _oid(data, start, end)
        if len(_OID_CACHE) >= _OID_CACHE_MAX:
            _OID_CACHE.clear()
        _OID_CACHE[raw] = oid
    return oid


def decode_varbinds(data: bytes, pos: int, end: int) -> list[tuple[OID, Value]]:
    """Decode the varbinds in data[pos:end] (the content of a VarBindList)."""
    out: list[tuple[OID, Value]] = []
    append = out.append
    cache_get = _OID_CACHE.get
    value_get = _VALUE_CACHE.get
    kept_tags = _KEPT_TAGS
    while pos < end:
        # SEQUENCE header, short-form fast path.
        if data[pos] != 0x30:
            raise _fail(f"expected varbind SEQUENCE at offset {pos}")
        n = data[pos + 1] if pos + 1 < end else 0x80
        if n < 0x80:
            pos += 2
            vb_end = pos + n
            if vb_end > end:
                raise _fail(f"varbind overruns the list at offset {pos}")
        else:
            pos, vb_end = _header(data, pos, end, 0x30, "varbind")
        # OID
        if pos + 1 >= vb_end or data[pos] != 0x06:
            raise _fail(f"expected OID at offset {pos}")
        n = data[pos + 1]
        if n < 0x80:
            pos += 2
            oid_end = pos + n
            if oid_end > vb_end:
                raise _fail(f"OID overruns its varbind at offset {pos}")
        else:
            pos, oid_end = _header(data, pos, vb_end, 0x06, "OID")
        raw = data[pos:oid_end]
        oid = cache_get(raw)
        if oid is None:
            oid = _cached_oid(raw, data, pos, oid_end)
        pos = oid_end
        # value
        if pos + 1 >= vb_end:
            raise _fail(f"missing value at offset {pos}")
        tag = data[pos]
        n = data[pos + 1]
        if n < 0x80:
            if n <= 2 or (n <= 4 and tag in kept_tags) or (tag == 0x06 and n <= 24):
                # A small value polls repeat (a status, a type, a speed, a zero counter, an
                # OID such as hrStorageRam): the Value decoded from the same bytes before, if
                # it is still at hand.
                if pos + 2 + n != vb_end:
                    raise _fail(f"value does not end its varbind at offset {pos + 2}")
                raw = data[pos:vb_end]
                value = value_get(raw)
                if value is None:
                    value = _small_value(raw, data, pos + 2, vb_end)
                append((oid, value))
                pos = vb_end
                continue
            pos += 2
            v_end = pos + n
        else:
            n, pos = _length(data, pos + 1, vb_end)
            v_end = pos + n
        if v_end != vb_end:
            raise _fail(f"value does not end its varbind at offset {pos}")
        value = _value(tag, n, data, pos, v_end)
        append((oid, value))
        pos = v_end
    return out


# Small values by their encoding (tag, length and content bytes): statuses, types, speeds,
# zero counters, short strings and OIDs (types, sysObjectID) repeat from poll to poll and from
# device to device, so a poll finds most of its small values here instead of making a Value
# each. Counters, clocks and large INTEGERs (storage used) change at every poll and are not
# kept beyond two bytes, so that they do not crowd out the values that repeat.
_VALUE_CACHE: dict[bytes, Value] = {}
_VALUE_CACHE_MAX = 20_000  # entries of at most 26 bytes and a Value: ~5 MB at most
# Kept up to 4 content bytes: OCTET STRING, IpAddress, Gauge32 (speeds); every tag up to 2
# (INTEGER -32768..32767, counters and clocks below 32768); OIDs up to 24.
_KEPT_TAGS = frozenset((0x04, 0x40, 0x42))


def _small_value(raw: bytes, data: bytes, start: int, end: int) -> Value:
    value = _value(raw[0], end - start, data, start, end)
    if len(_VALUE_CACHE) >= _VALUE_CACHE_MAX:
        _VALUE_CACHE.clear()
    _VALUE_CACHE[raw] = value
    return value


def _value(tag: int, n: int, data: bytes, pos: int, v_end: int) -> Value:
    """The Value of one varbind: tag, content length n, content data[pos:v_end]."""
    if tag == 0x04:
        return Value(Kind.OCTET_STRING, data[pos:v_end])
    if tag == 0x02:
        if 0 < n < 5:  # up to 4 octets always fits 32-bit signed
            return Value(Kind.INTEGER, int.from_bytes(data[pos:v_end], "big", signed=True))
        return Value(Kind.INTEGER, _int(data, pos, v_end))
    if tag in _UINT32_TAGS:
        if 0 < n < 5 and data[pos] < 0x80:
            return Value(_KIND[tag], int.from_bytes(data[pos:v_end], "big"))
        return Value(_KIND[tag], _uint(data, pos, v_end, 0xFFFFFFFF))
    if tag == 0x46:
        if 0 < n < 9 and data[pos] < 0x80:
            return Value(Kind.COUNTER64, int.from_bytes(data[pos:v_end], "big"))
        return Value(Kind.COUNTER64, _uint(data, pos, v_end, 0xFFFFFFFFFFFFFFFF))
    if tag == 0x06:
        return Value(Kind.OBJECT_IDENTIFIER, _oid(data, pos, v_end))
    if tag == 0x40:
        if n != 4:
            raise _fail(f"IpAddress of {n} bytes at offset {pos}")
        return Value(Kind.IP_ADDRESS, data[pos:v_end])
    if tag == 0x44:
        return Value(Kind.OPAQUE, data[pos:v_end])
    if tag == 0x05 or tag in _EXCEPTION_TAGS:
        if n:
            raise _fail(f"non-empty NULL/exception value at offset {pos}")
        return _NULL if tag == 0x05 else _EXC_VALUES[tag]
    raise _fail(f"unknown value tag 0x{tag:02x} at offset {pos}")


def decode_message(data: bytes) -> Message:
    """Decode a whole v1/v2c message (any PDU but the v1 Trap-PDU)."""
    try:
        return _decode_message(data)
    except SnmpError:
        raise
    except (IndexError, ValueError, TypeError) as exc:  # defensive: never leak other errors
        raise _fail(f"malformed message: {exc}") from None


def _decode_message(data: bytes) -> Message:
    limit = len(data)
    pos, end = _header(data, 0, limit, 0x30, "message SEQUENCE")
    if end != limit:
        raise _fail(f"{limit - end} trailing bytes after the message")
    start, stop = _header(data, pos, end, 0x02, "version")
    version = _int(data, start, stop)
    if version not in (VERSION_1, VERSION_2C):
        raise _fail(f"unsupported SNMP version field {version}")
    start, stop = _header(data, stop, end, 0x04, "community")
    community = data[start:stop]
    pos = stop
    if pos >= end:
        raise _fail("truncated before the PDU")
    pdu_type = data[pos]
    if pdu_type not in _PDU_TAGS:
        hint = " (a v1 Trap-PDU: use decode_trap_v1)" if pdu_type == TRAP_V1 else ""
        raise _fail(f"unsupported PDU tag 0x{pdu_type:02x}{hint}")
    pos, pdu_end = _header(data, pos, end, pdu_type, "PDU")
    if pdu_end != end:
        raise _fail("the PDU does not end the message")
    start, stop = _header(data, pos, pdu_end, 0x02, "request-id")
    request_id = _int(data, start, stop)
    start, stop = _header(data, stop, pdu_end, 0x02, "error-status")
    error_status = _int(data, start, stop)
    start, stop = _header(data, stop, pdu_end, 0x02, "error-index")
    error_index = _int(data, start, stop)
    start, stop = _header(data, stop, pdu_end, 0x30, "varbind list")
    if stop != pdu_end:
        raise _fail("the varbind list does not end the PDU")
    varbinds = decode_varbinds(data, start, stop)
    return Message(version, community, pdu_type, request_id, error_status, error_index, varbinds)


class TrapV1(NamedTuple):
    """A decoded SNMPv1 Trap-PDU (RFC 1157 §4.1.6)."""

    community: bytes
    enterprise: OID
    agent_addr: bytes
    generic_trap: int
    specific_trap: int
    time_stamp: int
    varbinds: list[tuple[OID, Value]]


def decode_trap_v1(data: bytes) -> TrapV1:
    """Decode a whole SNMPv1 message carrying a Trap-PDU."""
    try:
        return _decode_trap_v1(data)
    except SnmpError:
        raise
    except (IndexError, ValueError, TypeError) as exc:
        raise _fail(f"malformed trap: {exc}") from None


def _decode_trap_v1(data: bytes) -> TrapV1:
    limit = len(data)
    pos, end = _header(data, 0, limit, 0x30, "message SEQUENCE")
    if end != limit:
        raise _fail(f"{limit - end} trailing bytes after the message")
    start, stop = _header(data, pos, end, 0x02, "version")
    if _int(data, start, stop) != VERSION_1:
        raise _fail("a Trap-PDU needs SNMP version 1")
    start, stop = _header(data, stop, end, 0x04, "community")
    community = data[start:stop]
    pos, pdu_end = _header(data, stop, end, TRAP_V1, "Trap-PDU")
    if pdu_end != end:
        raise _fail("the PDU does not end the message")
    start, stop = _header(data, pos, pdu_end, 0x06, "enterprise")
    enterprise = _oid(data, start, stop)
    start, stop = _header(data, stop, pdu_end, 0x40, "agent-addr")
    if stop - start != 4:
        raise _fail(f"agent-addr of {stop - start} bytes")
    agent_addr = data[start:stop]
    start, stop = _header(data, stop, pdu_end, 0x02, "generic-trap")
    generic = _int(data, start, stop)
    start, stop = _header(data, stop, pdu_end, 0x02, "specific-trap")
    specific = _int(data, start, stop)
    start, stop = _header(data, stop, pdu_end, 0x43, "time-stamp")
    stamp = _uint(data, start, stop, 0xFFFFFFFF)
    start, stop = _header(data, stop, pdu_end, 0x30, "varbind list")
    if stop != pdu_end:
        raise _fail("the varbind list does not end the PDU")
    varbinds = decode_varbinds(data, start, stop)
    return TrapV1(community, enterprise, agent_addr, generic, specific, stamp, varbinds)


# ---- encoding ---------------------------------------------------------------------------


def _enc_len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _tlv(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes((tag, n)) + body
    return bytes((tag,)) + _enc_len(n) + body


def _int_body(n: int) -> bytes:
    size = (n.bit_length() if n >= 0 else (~n).bit_length()) // 8 + 1
    return n.to_bytes(size, "big", signed=True)


def encode_oid(oid: OID) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (no tag/length)."""
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] >= 40):
        raise ValueError(f"invalid OID {oid!r}")
    out = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        if arc < 0x80:
            out.append(arc)
            continue
        if arc < 0:
            raise ValueError(f"negative OID arc in {oid!r}")
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return bytes(out)


def encode_value(value: Value) -> bytes:
    """A varbind value as a full TLV."""
    kind, v = value.kind, value.value
    if kind in (Kind.OCTET_STRING, Kind.OPAQUE, Kind.IP_ADDRESS):
        return _tlv(kind, bytes(v))  # type: ignore[arg-type]
    if kind in (Kind.INTEGER, Kind.COUNTER32, Kind.GAUGE32, Kind.TIMETICKS, Kind.COUNTER64):
        return _tlv(kind, _int_body(int(v)))  # type: ignore[arg-type]
    if kind == Kind.OBJECT_IDENTIFIER:
        return _tlv(0x06, encode_oid(v))  # type: ignore[arg-type]
    return bytes((kind, 0))  # NULL and the exceptions


_NULL_TLV = b"\x05\x00"


def encode_varbind(oid: OID, value: Value | None = None) -> bytes:
    return _tlv(
        0x30, _tlv(0x06, encode_oid(oid)) + (_NULL_TLV if value is None else encode_value(value))
    )


def encode_message(
    version: int,
    community: bytes,
    pdu_type: int,
    request_id: int,
    varbinds: Sequence[tuple[OID, Value | None]] | Sequence[bytes],
    error_status: int = 0,
    error_index: int = 0,
) -> bytes:
    """Encode a v1/v2c message; varbinds are (oid, value|None) pairs or pre-encoded varbinds."""
    body = b"".join(
        vb if isinstance(vb, bytes) else encode_varbind(vb[0], vb[1]) for vb in varbinds
    )
    pdu = (
        _tlv(0x02, _int_body(request_id))
        + _tlv(0x02, _int_body(error_status))
        + _tlv(0x02, _int_body(error_index))
        + _tlv(0x30, body)
    )
    return _tlv(
        0x30,
        _tlv(0x02, _int_body(version)) + _tlv(0x04, community) + _tlv(pdu_type, pdu),
    )


_REQUEST_VARBINDS: dict[OID, bytes] = {}  # (oid, NULL) varbinds, as polls ask the same OIDs
_REQUEST_VARBINDS_MAX = 100_000


def _request_varbind(oid: OID) -> bytes:
    vb = _REQUEST_VARBINDS.get(oid)
    if vb is None:
        vb = encode_varbind(oid)
        if len(_REQUEST_VARBINDS) >= _REQUEST_VARBINDS_MAX:
            _REQUEST_VARBINDS.clear()
        _REQUEST_VARBINDS[oid] = vb
    return vb


def encode_request(
    version: int,
    community: bytes,
    pdu_type: int,
    request_id: int,
    oids: Sequence[OID],
    *,
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """A GET/GETNEXT/GETBULK request with NULL values (what encode_message writes)."""
    get = _REQUEST_VARBINDS.get
    body = b"".join([get(o) or _request_varbind(o) for o in oids])
    if pdu_type == GETBULK:
        fields = _tlv(0x02, _int_body(non_repeaters)) + _tlv(0x02, _int_body(max_repetitions))
    else:
        fields = _ZERO_STATUS_INDEX
    pdu = _tlv(0x02, _int_body(request_id)) + fields + _tlv(0x30, body)
    head = _HEADS.get((version, community))
    if head is None:
        head = _tlv(0x02, _int_body(version)) + _tlv(0x04, community)
        if len(_HEADS) >= 1000:
            _HEADS.clear()
        _HEADS[(version, community)] = head
    return _tlv(0x30, head + _tlv(pdu_type, pdu))


_ZERO_STATUS_INDEX = b"\x02\x01\x00\x02\x01\x00"  # error-status 0, error-index 0
_HEADS: dict[tuple[int, bytes], bytes] = {}  # version and community TLVs, per community
