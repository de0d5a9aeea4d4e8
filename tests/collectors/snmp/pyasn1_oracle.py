"""pyasn1/pysnmp as the independent oracle: encode and decode SNMP messages the reference way."""

from __future__ import annotations

from pyasn1.codec.ber import decoder, encoder
from pyasn1.error import PyAsn1Error
from pysnmp.proto import api

from netwatch.collectors.snmp.types import Kind

V2C = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
V1 = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]

Plain = tuple[int, int, bytes, int, int, int, int, list]  # version, pdu tag, ..., varbinds


def _tag_code(obj) -> int:
    tag = obj.tagSet[-1]
    return tag.tagClass | tag.tagFormat | tag.tagId


def plain_value(obj) -> tuple[Kind, object]:
    kind = Kind(_tag_code(obj))
    if kind in (Kind.OCTET_STRING, Kind.IP_ADDRESS, Kind.OPAQUE):
        return kind, bytes(obj.asOctets())
    if kind == Kind.OBJECT_IDENTIFIER:
        return kind, tuple(obj)
    if kind in (Kind.NULL, Kind.NO_SUCH_OBJECT, Kind.NO_SUCH_INSTANCE, Kind.END_OF_MIB_VIEW):
        return kind, None
    return kind, int(obj)


def pyasn1_decode(data: bytes):
    """(version, community, pdu tag, request-id, status, index, [(oid, kind, value)]) or None."""
    try:
        version = int(api.decodeMessageVersion(data))
        proto = V1 if version == 0 else V2C
        msg, rest = decoder.decode(data, asn1Spec=proto.Message())
        if rest:
            return None
        pdu = proto.apiMessage.get_pdu(msg)
        code = _tag_code(pdu)
        varbinds = [(tuple(oid), *plain_value(val)) for oid, val in proto.apiPDU.get_varbinds(pdu)]
        return (
            version,
            bytes(proto.apiMessage.get_community(msg)),
            code,
            int(proto.apiPDU.get_request_id(pdu)),
            int(pdu.getComponentByPosition(1)),
            int(pdu.getComponentByPosition(2)),
            varbinds,
        )
    except (PyAsn1Error, ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


_CLASSES = {
    Kind.INTEGER: V2C.Integer,
    Kind.OCTET_STRING: V2C.OctetString,
    Kind.NULL: V2C.Null,
    Kind.OBJECT_IDENTIFIER: V2C.ObjectIdentifier,
    Kind.IP_ADDRESS: V2C.IpAddress,
    Kind.COUNTER32: V2C.Counter32,
    Kind.GAUGE32: V2C.Gauge32,
    Kind.TIMETICKS: V2C.TimeTicks,
    Kind.OPAQUE: V2C.Opaque,
    Kind.COUNTER64: V2C.Counter64,
    Kind.NO_SUCH_OBJECT: V2C.NoSuchObject,
    Kind.NO_SUCH_INSTANCE: V2C.NoSuchInstance,
    Kind.END_OF_MIB_VIEW: V2C.EndOfMibView,
}


def pyasn1_encode_response(community: bytes, request_id: int, varbinds: list) -> bytes:
    """A v2c Response encoded by pyasn1 from [(oid, kind, value)]."""
    pdu = V2C.ResponsePDU()
    V2C.apiPDU.set_defaults(pdu)
    V2C.apiPDU.set_request_id(pdu, request_id)
    objs = []
    for oid, kind, value in varbinds:
        cls = _CLASSES[kind]
        obj = cls("") if kind == Kind.NULL or value is None else cls(value)
        objs.append((V2C.ObjectIdentifier(oid), obj))
    V2C.apiPDU.set_varbinds(pdu, objs)
    msg = V2C.Message()
    V2C.apiMessage.set_defaults(msg)
    V2C.apiMessage.set_community(msg, community)
    V2C.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg)
