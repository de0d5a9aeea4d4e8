"""Turn raw SNMP values into numbers in base units: conversions, string parsing, sentinels."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from netwatch.collectors.snmp.types import Value

# Cisco entSensorDataScale (CISCO-ENTITY-SENSOR-MIB): enum value → power of ten.
CISCO_SCALE_EXP = {
    1: -24, 2: -21, 3: -18, 4: -15, 5: -12, 6: -9, 7: -6, 8: -3, 9: 0,
    10: 3, 11: 6, 12: 9, 13: 12, 14: 15, 15: 18, 16: 21, 17: 24,
}  # fmt: skip

_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_DBM_IN_PARENS = re.compile(r"\(\s*([-+]?\d+(?:\.\d+)?)\s*dBm\s*\)", re.IGNORECASE)
_MW = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*mW", re.IGNORECASE)
_DBM = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*dBm", re.IGNORECASE)


class ConversionError(ValueError):
    """A value that a conversion cannot read (kept apart from 'no reading')."""


def as_text(value: Value) -> str:
    """Decode an OCTET STRING for labels; non-UTF-8 bytes become U+FFFD, NULs are dropped."""
    raw = value.value
    if isinstance(raw, bytes):
        return raw.decode("utf-8", errors="replace").replace("\x00", "").strip()
    if isinstance(raw, tuple):
        return ".".join(map(str, raw))
    return "" if raw is None else str(raw)


def as_number(value: Value) -> float | None:
    """A numeric value, or a number parsed from a string; None when there is none."""
    if value.is_exception or value.value is None:
        return None
    raw = value.value
    if isinstance(raw, int):
        return float(raw)
    if isinstance(raw, bytes):
        match = _NUMBER.search(as_text(value))
        return float(match.group()) if match else None
    return None


def mw_to_dbm(mw: float) -> float | None:
    """Milliwatts to dBm; zero or negative power has no dBm value (no light)."""
    if mw <= 0:
        return None
    return 10.0 * math.log10(mw)


def _mdbm_to_dbm(x: float) -> float | None:
    return x / 1000.0


def _centi_dbm(x: float) -> float | None:
    return x / 100.0


def _uw_to_dbm(x: float) -> float | None:
    return mw_to_dbm(x / 1000.0)


def _identity(x: float) -> float | None:
    return x


NUMERIC_CONVERSIONS: dict[str, Callable[[float], float | None]] = {
    "none": _identity,
    "mdbm_to_dbm": _mdbm_to_dbm,
    "centi_dbm": _centi_dbm,
    "uw_to_dbm": _uw_to_dbm,
    "mw_to_dbm": mw_to_dbm,
}


def mw_string_to_dbm(text: str) -> float | None:
    """'0.03 mW (-14.61 dBm)' → -14.61; the dBm the device printed wins over our own log."""
    match = _DBM_IN_PARENS.search(text)
    if match:
        return float(match.group(1))
    match = _MW.search(text)
    if match:
        return mw_to_dbm(float(match.group(1)))
    raise ConversionError(f"no mW or dBm figure in {text!r}")


def dbm_string(text: str) -> float | None:
    """'6.56 dbm' → 6.56."""
    match = _DBM.search(text)
    if match:
        return float(match.group(1))
    raise ConversionError(f"no dBm figure in {text!r}")


STRING_CONVERSIONS: dict[str, Callable[[str], float | None]] = {
    "mw_string_to_dbm": mw_string_to_dbm,
    "dbm_string": dbm_string,
}

CONVERSIONS = frozenset(NUMERIC_CONVERSIONS) | frozenset(STRING_CONVERSIONS) | {"cisco_sensor"}


def cisco_sensor(value: float, scale: int | None, precision: int | None) -> float:
    """entSensorValue × 10^scale ÷ 10^precision (CISCO-ENTITY-SENSOR-MIB)."""
    exp = CISCO_SCALE_EXP.get(scale or 9, 0) - (precision or 0)
    return value * (10.0**exp)


def convert(
    value: Value,
    conversion: str = "none",
    scale: float = 1.0,
    sentinels: frozenset[float] = frozenset(),
    extra: dict[str, int | None] | None = None,
    offset: float = 0.0,
) -> float | None:
    """Apply sentinel check, scale, offset and conversion; None means 'no reading', not a number.

    Raises ConversionError when the value is present but unreadable (a string in a
    numeric column), so the caller can count it instead of silently dropping it.
    """
    if value.is_exception or value.value is None:
        return None
    if conversion in STRING_CONVERSIONS:
        text = as_text(value)
        if not text:
            return None
        return STRING_CONVERSIONS[conversion](text)
    if isinstance(value.value, bytes):
        number = as_number(value)
        if number is None:
            text = as_text(value)
            if not text:
                return None
            raise ConversionError(f"not a number: {text!r}")
    elif isinstance(value.value, int):
        number = float(value.value)
    else:
        raise ConversionError(f"unexpected {value.kind.name} value")
    if number in sentinels:
        return None
    if conversion == "cisco_sensor":
        extra = extra or {}
        number = cisco_sensor(number, extra.get("scale"), extra.get("precision"))
        return number * scale
    result = NUMERIC_CONVERSIONS[conversion](number * scale + offset)
    return result


def format_mac(subids: tuple[int, ...]) -> str:
    """(0, 12, 66, ...) → '00:0c:42:...' for MAC-formatted indexes."""
    return ":".join(f"{b:02x}" for b in subids)


def format_ascii(subids: tuple[int, ...]) -> str:
    """Index sub-ids that carry ASCII (length prefix already removed)."""
    return "".join(chr(b) if 32 <= b < 127 else "?" for b in subids)


def zte_gpon_ifindex(text: str) -> str:
    """ZTE C3xx zxGponOltIfIndex (268501248 = 0x10010100) → its PON port '1/1/1'.

    Type in the top nibble, shelf (0-based) below it, then slot and port bytes: the real C320
    recording's eight PON indexes 0x10010100..0x10010800 are its gpon_1/1/1..gpon_1/1/8.
    Anything else is kept as written.
    """
    if not text.isdigit():
        return text
    n = int(text)
    if n >> 28 != 1:
        return text
    return f"{((n >> 24) & 0xF) + 1}/{(n >> 16) & 0xFF}/{(n >> 8) & 0xFF}"


def slashed(text: str) -> str:
    """Index sub-ids read as one dotted part, as a PON port is written: '1.1.3' → '1/1/3'."""
    return text.replace(".", "/")


INDEX_TRANSFORMS = {"zte_gpon_ifindex": zte_gpon_ifindex, "slashed": slashed}


def band_from_mhz(mhz: float) -> str | None:
    """Wi-Fi band of a centre frequency in MHz ('2.4GHz', '5GHz', '6GHz', '60GHz')."""
    if 2400 <= mhz < 2500:
        return "2.4GHz"
    if 4900 <= mhz < 5925:
        return "5GHz"
    if 5925 <= mhz <= 7125:
        return "6GHz"
    if 57000 <= mhz <= 71000:
        return "60GHz"
    if 902 <= mhz <= 928:
        return "900MHz"
    return None


def band_from_channel(channel: int) -> str | None:
    """2.4 or 5 GHz from an IEEE channel number (6 GHz channels overlap: not guessed)."""
    if 1 <= channel <= 14:
        return "2.4GHz"
    if 32 <= channel <= 177:
        return "5GHz"
    return None


_BAND_TEXT = (
    (re.compile(r"^(2ghz|2\.4|2g\b|ng$|bg$|b$|g$|11b|11g|11ng|dot11b|dot11g)"), "2.4GHz"),
    (re.compile(r"^(5ghz|5g\b|na$|a$|ac$|11a|11na|11ac|dot11a)"), "5GHz"),
    (re.compile(r"^(6ghz|6g\b|6e)"), "6GHz"),
    (re.compile(r"^60ghz"), "60GHz"),
)


def band_from_text(text: str) -> str | None:
    """'2ghz-b/g/n' (MikroTik), 'ng'/'na' (UniFi), '5GHz' → the band; None if unknown."""
    low = text.strip().lower().replace(" ", "")
    for pattern, band in _BAND_TEXT:
        if pattern.search(low):
            return band
    return None


_HEX16 = re.compile(r"^[0-9A-Fa-f]{16}$")


def gpon_serial(value: Value) -> str:
    """A GPON ONU serial as people read it (ITU-T G.984.3: 4-byte vendor id, 4-byte serial):
    the 8 raw octets or their 16 hex digits → 'HWTC1A2B3C4D'; other text as the OLT gives it."""
    raw = value.value
    if isinstance(raw, bytes) and len(raw) == 8:
        octets = raw
    else:
        text = as_text(value).replace(" ", "").replace(":", "")
        if not _HEX16.match(text):
            return as_text(value)[:32]
        octets = bytes.fromhex(text)
    vendor = octets[:4]
    if not all(0x20 < b < 0x7F for b in vendor):
        return octets.hex().upper()
    return vendor.decode("ascii") + octets[4:].hex().upper()


def label_text(value: Value, transform: str | None) -> str:
    """A label column's value as text, through the column's transform (if any)."""
    if transform == "mac":
        raw = value.value
        if isinstance(raw, bytes) and len(raw) == 6:
            return format_mac(tuple(raw))
        return as_text(value).lower().replace("-", ":")
    if transform in ("band_from_mhz", "band_from_channel"):
        number = as_number(value)
        if number is None:
            return ""
        if transform == "band_from_mhz":
            return band_from_mhz(number) or ""
        return band_from_channel(int(number)) or ""
    if transform == "band_from_text":
        return band_from_text(as_text(value)) or ""
    if transform == "gpon_serial":
        return gpon_serial(value)
    return as_text(value)
