"""Parse net-snmp CLI output (`-On -Ox -Ot -m ''`) into (oid, Kind, value) for comparisons."""

from __future__ import annotations

from netwatch.collectors.snmp.types import Kind

NETSNMP_FLAGS = ("-On", "-Ox", "-Ot", "-m", "")

_TYPES = {
    "INTEGER": Kind.INTEGER,
    "Counter32": Kind.COUNTER32,
    "Gauge32": Kind.GAUGE32,
    "Counter64": Kind.COUNTER64,
    "Timeticks": Kind.TIMETICKS,
    "OID": Kind.OBJECT_IDENTIFIER,
    "IpAddress": Kind.IP_ADDRESS,
    "Hex-STRING": Kind.OCTET_STRING,
    "STRING": Kind.OCTET_STRING,
    "Opaque": Kind.OPAQUE,
}


def parse_netsnmp(text: str) -> list[tuple[tuple[int, ...], Kind, object]]:
    """Lines `.1.3... = TYPE: value` (hex strings may wrap onto following lines)."""
    records: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith(".") and " = " in line:
            records.append([line])
        elif records and line.strip():
            records[-1].append(line)
    out = []
    for rec in records:
        oid_text, rest = rec[0].split(" = ", 1)
        rest = " ".join([rest, *rec[1:]]).strip()
        oid = tuple(int(x) for x in oid_text.lstrip(".").split("."))
        if rest == '""':
            out.append((oid, Kind.OCTET_STRING, b""))
            continue
        if ": " not in rest:  # -Ot prints bare Timeticks
            out.append((oid, Kind.TIMETICKS, int(rest)))
            continue
        type_name, value = rest.split(": ", 1)
        kind = _TYPES[type_name]
        parsed: object
        if kind in (Kind.OCTET_STRING, Kind.OPAQUE):
            parsed = (
                bytes.fromhex(value.replace(" ", ""))
                if type_name != "STRING"
                else (value.strip('"').encode())
            )
        elif kind == Kind.OBJECT_IDENTIFIER:
            parsed = tuple(int(x) for x in value.lstrip(".").split("."))
        elif kind == Kind.IP_ADDRESS:
            parsed = bytes(int(x) for x in value.split("."))
        else:
            parsed = int(value.split()[0])
        out.append((oid, kind, parsed))
    return out
