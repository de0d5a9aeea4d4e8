"""Reading a few header fields of an SNMP message without decoding it (RFC 3412, 3414, 3416).

The poller and the trap listener drop foreign datagrams from these fields alone: their cost
does not depend on the datagram's size or content.
"""

from __future__ import annotations

from netwatch.collectors.snmp.ber import _PDU_TAGS, _header, _int
from netwatch.collectors.snmp.types import SnmpError


def request_id(data: bytes) -> int | None:
    """The request-id of a v1/v2c message from its first few headers, or None if malformed.

    Costs a few header reads, whatever the size: the engine checks it against its pending
    requests before it decodes a single varbind.
    """
    try:
        limit = len(data)
        pos, end = _header(data, 0, limit, 0x30, "message SEQUENCE")
        start, stop = _header(data, pos, end, 0x02, "version")
        start, stop = _header(data, stop, end, 0x04, "community")
        if stop >= end or data[stop] not in _PDU_TAGS:
            return None
        pos, pdu_end = _header(data, stop, end, data[stop], "PDU")
        start, stop = _header(data, pos, pdu_end, 0x02, "request-id")
        return _int(data, start, stop)
    except (SnmpError, IndexError):
        return None


def community(data: bytes) -> tuple[int, bytes] | None:
    """(version, community) of a v1/v2c message, or None when it is not one."""
    try:
        limit = len(data)
        pos, end = _header(data, 0, limit, 0x30, "message SEQUENCE")
        start, stop = _header(data, pos, end, 0x02, "version")
        version = _int(data, start, stop)
        start, stop = _header(data, stop, end, 0x04, "community")
        return version, data[start:stop]
    except (SnmpError, IndexError):
        return None


def v3_user(data: bytes) -> bytes | None:
    """The USM user name of an SNMPv3 message (RFC 3412 §6, RFC 3414 §2.4), or None."""
    try:
        limit = len(data)
        pos, end = _header(data, 0, limit, 0x30, "message SEQUENCE")
        start, stop = _header(data, pos, end, 0x02, "msgVersion")
        if _int(data, start, stop) != 3:
            return None
        _, stop = _header(data, stop, end, 0x30, "msgGlobalData")
        start, stop = _header(data, stop, end, 0x04, "msgSecurityParameters")
        pos, usm_end = _header(data, start, stop, 0x30, "UsmSecurityParameters")
        _, pos = _header(data, pos, usm_end, 0x04, "msgAuthoritativeEngineID")
        _, pos = _header(data, pos, usm_end, 0x02, "msgAuthoritativeEngineBoots")
        _, pos = _header(data, pos, usm_end, 0x02, "msgAuthoritativeEngineTime")
        start, stop = _header(data, pos, usm_end, 0x04, "msgUserName")
        return data[start:stop]
    except (SnmpError, IndexError):
        return None
