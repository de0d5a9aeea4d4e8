"""Scalar grammars shared by the loader and the CLI: durations, sizes, addresses, ports, names."""

from __future__ import annotations

import ipaddress
import re

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGT]i?B|B)?")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
_PORT = re.compile(r"[0-9]+")


def parse_duration(text: str) -> float:
    """'30s', '200ms', '5m', '1h30m' → seconds; raises ValueError."""
    s = text.strip()
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos == 0 or pos != len(s):
        raise ValueError(f"{text!r} is not a duration (examples: 30s, 200ms, 5m, 1h30m)")
    return total


def parse_size(text: str) -> int:
    """'512MiB', '10MB', '4096' → bytes; raises ValueError."""
    m = _SIZE.fullmatch(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a size (examples: 4096, 64KiB, 512MiB, 1GB)")
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])


def is_host_name(text: str) -> bool:
    """RFC 1123 host name; an all-numeric last label is refused so '10.0.0.300' is no name."""
    name = text[:-1] if text.endswith(".") else text
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    return all(_LABEL.fullmatch(x) for x in labels) and not labels[-1].isdigit()


def check_address(text: str) -> str:
    """Return the canonical form (IP compressed, names lower-case) or raise ValueError."""
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        pass
    if is_host_name(text):
        return text.lower().rstrip(".")
    raise ValueError(f"{text!r} is not an IP address or host name")


def check_port(port: int) -> int:
    """A UDP/TCP port number, 1-65535 (0 means 'any' to the kernel, never a device's port)."""
    if not 1 <= port <= 65535:
        raise ValueError(f"{port} is not a port number (1-65535)")
    return port


def split_host_port(text: str) -> tuple[str, int | None]:
    """'ADDRESS', 'ADDRESS:PORT', '[IPv6]:PORT' or a bare IPv6 address → (address, port or None).

    The address is checked as the inventory checks it; raises ValueError naming what is wrong.
    """
    host, port_text = text, None
    if text.startswith("["):  # [IPv6] or [IPv6]:PORT
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not ADDRESS, ADDRESS:PORT or [IPv6]:PORT")
        port_text = rest[1:] if rest else None
        if ":" not in host:
            raise ValueError(f"{host!r} in brackets is not an IPv6 address")
    elif text.count(":") == 1:  # one colon: ADDRESS:PORT (an IPv6 address has several)
        host, _, port_text = text.partition(":")
    address = check_address(host)
    if port_text is None:
        return address, None
    if not _PORT.fullmatch(port_text):
        raise ValueError(f"{port_text!r} is not a port number (1-65535)")
    return address, check_port(int(port_text))


def check_name(text: str) -> None:
    """Device and credential names: lower-case letters, digits, '.', '_', '-'; at most 63."""
    if not _NAME.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a valid name (lower-case letters, digits, '.', '_', '-'; "
            "starts with a letter or digit; at most 63 characters)"
        )


def slug(text: str) -> str:
    """'Kalibaru Wetan' → 'kalibaru-wetan' (for generated device names)."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
