"""Service probes in the inventory: TCP, HTTP(S) and DNS checks of a village office's services.

Plain frozen dataclasses that the config builder fills from YAML (errors name file and line);
the service collector (netwatch.collectors.service) runs them. docs/service-probes.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

DNS_TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT")
DNS_RCODES = ("NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")


def _port(value: int) -> None:
    if not 1 <= value <= 65535:
        raise ValueError(f"{value} is not a port (1..65535)")


def _url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("a probe URL carries no credentials (they would show in labels and logs)")
    try:
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError as exc:
        raise ValueError(f"{value!r}: {exc}") from None


def _regex(value: str) -> None:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a regular expression: {exc}") from None


def _statuses(value: tuple[int, ...]) -> None:
    for code in value:
        if not 100 <= code <= 599:
            raise ValueError(f"{code} is not an HTTP status code (100..599)")


def _one_of(*choices: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of {', '.join(choices)}")

    return check


def _positive(value: float) -> None:
    if value <= 0:
        raise ValueError(f"must be positive, not {value:g}")


@dataclass(frozen=True, slots=True)
class TcpCheck:
    """Connect (and optionally shake hands with TLS) to address:port."""

    port: int = field(metadata={"check": _port})
    address: str | None = None  # default: the device's address
    tls: bool = False  # TLS handshake after connect; the certificate's not-after is reported
    server_name: str | None = None  # TLS SNI and name check (default: the address)
    verify_tls: bool = True


@dataclass(frozen=True, slots=True)
class HttpCheck:
    """One request without redirects: the status, optionally the body, and TLS expiry."""

    url: str = field(metadata={"check": _url})
    method: Literal["GET", "HEAD"] = "GET"
    status: tuple[int, ...] = field(default=(), metadata={"check": _statuses})  # () = 2xx
    body: str | None = field(default=None, metadata={"check": _regex})  # a regex to find
    verify_tls: bool = True
    ca_file: str | None = None  # extra CA to trust (a village portal's own CA)
    max_body_bytes: int = field(default=1 << 20, metadata={"check": _positive})


@dataclass(frozen=True, slots=True)
class DnsCheck:
    """One query over UDP (TCP when truncated): the rcode and, if listed, answers to find."""

    query: str
    type: str = field(default="A", metadata={"check": _one_of(*DNS_TYPES)})
    server: str | None = None  # default: the device's address
    port: int = field(default=53, metadata={"check": _port})
    rcode: str = field(default="NOERROR", metadata={"check": _one_of(*DNS_RCODES)})
    answers: tuple[str, ...] = ()  # each must be among the answers' data (e.g. an address)


@dataclass(frozen=True, slots=True)
class ServiceProbe:
    """A named service of a device or village, probed with exactly one of tcp, http, dns."""

    name: str
    tcp: TcpCheck | None = None
    http: HttpCheck | None = None
    dns: DnsCheck | None = None
    timeout: float | None = None  # seconds; None = settings.services.timeout

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(
                f"service name {self.name!r}: lower-case letters, digits, '-' and '_' only"
            )
        given = [k for k in ("tcp", "http", "dns") if getattr(self, k) is not None]
        if len(given) != 1:
            have = ", ".join(given) or "none"
            raise ValueError(f"service {self.name!r} needs exactly one of tcp, http, dns ({have})")
        if self.timeout is not None and self.timeout <= 0:
            raise ValueError(f"service {self.name!r}: timeout must be positive")

    @property
    def protocol(self) -> str:
        return "tcp" if self.tcp else "http" if self.http else "dns"


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """settings.services: how often and how long the service probes run."""

    interval: float = field(default=60.0, metadata={"check": _positive})
    timeout: float = field(default=5.0, metadata={"check": _positive})
