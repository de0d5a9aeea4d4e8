"""The service collector's observation: the results of one device's service probes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(slots=True)
class ProbeResult:
    """One probe of one service, as blackbox_exporter reports a probe.

    reason is a short label when the probe failed (timeout, connect, tls, status, body,
    rcode, answer, resolve, protocol); phases are seconds per phase: connect, tls,
    processing (request sent until the response head), transfer (the body), query (DNS).
    """

    service: str
    protocol: str  # tcp | http | dns
    success: bool = False
    reason: str = ""
    message: str = ""  # what happened, for logs and the status page's operators
    duration: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    http_status: int | None = None
    tls_not_after: float | None = None  # unix seconds the server certificate expires
    dns_rcode: int | None = None
    dns_answers: int | None = None  # records in the answer section


@dataclass(slots=True)
class ServiceObservation:
    device: str
    time: float  # unix seconds at the start of the probes
    duration: float = 0.0  # seconds all of the device's probes took (they run at once)
    results: list[ProbeResult] = field(default_factory=list)


def os_error_text(exc: OSError) -> str:
    """ "Connection refused" rather than asyncio's "Connect call failed ('127.0.0.1', 80)"."""
    return os.strerror(exc.errno) if exc.errno else str(exc)
