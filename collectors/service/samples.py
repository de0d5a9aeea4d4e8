"""Service-probe families and samples (blackbox_exporter's probe_* metrics, per device)."""

from __future__ import annotations

from collections.abc import Iterator

from netwatch.collectors.service.state import ServiceDeviceState
from netwatch.core.model import Device
from netwatch.core.samples import Family, Field, Kind, Labels, Measurement, Sample, View

SERVICE = Measurement("netwatch_service")
G, C = Kind.GAUGE, Kind.COUNTER
SP = ("service", "protocol")

SUCCESS = Family(
    "netwatch_service_probe_success",
    G,
    "1 if the last probe of the service succeeded, 0 if it failed.",
    labels=SP,
    field=Field(SERVICE, "success", integer=True),
)
DURATION = Family(
    "netwatch_service_probe_duration_seconds",
    G,
    "Time the last probe of the service took.",
    "seconds",
    labels=SP,
    field=Field(SERVICE, "duration_seconds"),
)
PHASE = Family(
    "netwatch_service_probe_phase_seconds",
    G,
    "Time the last probe spent per phase (connect, tls, processing, transfer, query).",
    "seconds",
    labels=(*SP, "phase"),
)
HTTP_STATUS = Family(
    "netwatch_service_http_status_code",
    G,
    "HTTP status code of the last probe's response.",
    labels=("service",),
    field=Field(SERVICE, "http_status", integer=True),
)
TLS_NOT_AFTER = Family(
    "netwatch_service_tls_cert_not_after_timestamp_seconds",
    G,
    "When the server certificate seen by the last probe expires.",
    "seconds",
    labels=("service",),
    field=Field(SERVICE, "tls_cert_not_after_seconds"),
)
DNS_RCODE = Family(
    "netwatch_service_dns_rcode",
    G,
    "DNS response code of the last probe (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED).",
    labels=("service",),
    field=Field(SERVICE, "dns_rcode", integer=True),
)
DNS_ANSWERS = Family(
    "netwatch_service_dns_answers",
    G,
    "Records in the answer section of the last probe's response.",
    labels=("service",),
    field=Field(SERVICE, "dns_answers", integer=True),
)
LAST = Family(
    "netwatch_service_probe_last_timestamp_seconds",
    G,
    "Start of the last probe of the service.",
    "seconds",
    labels=SP,
)
PROBES = Family("netwatch_service_probes", C, "Probes of the service run.", labels=("service",))
FAILURES = Family(
    "netwatch_service_probe_failures",
    C,
    "Failed probes of the service, by reason (timeout, connect, tls, status, body, rcode, "
    "answer, protocol).",
    labels=("service", "reason"),
)
_PHASE_FIELDS = {
    p: Family(
        f"netwatch_service_{p}_seconds",
        G,
        f"Time the probe spent in its {p} phase.",
        "seconds",
        field=Field(SERVICE, f"{p}_seconds"),
    )
    for p in ("connect", "tls", "processing", "transfer", "query")
}

FAMILIES = (
    SUCCESS, DURATION, PHASE, HTTP_STATUS, TLS_NOT_AFTER, DNS_RCODE, DNS_ANSWERS, LAST,
    PROBES, FAILURES,
)  # fmt: skip


def samples(device: Device, st: ServiceDeviceState, view: View) -> Iterator[Sample]:
    obs = st.last
    if obs is None:
        return
    event = view is View.EVENT
    t = obs.time if event else None
    for r in obs.results:
        sp: Labels = (("service", r.service), ("protocol", r.protocol))
        own: Labels = sp if event else (("service", r.service),)
        yield (SUCCESS, 1 if r.success else 0, sp, t)
        yield (DURATION, r.duration, sp, t)
        for phase, seconds in r.phases.items():
            if event:
                yield (_PHASE_FIELDS[phase], seconds, sp, t)
            else:
                yield (PHASE, seconds, (*sp, ("phase", phase)), None)
        if r.http_status is not None:
            yield (HTTP_STATUS, r.http_status, own, t)
        if r.tls_not_after is not None:
            yield (TLS_NOT_AFTER, r.tls_not_after, own, t)
        if r.dns_rcode is not None:
            yield (DNS_RCODE, r.dns_rcode, own, t)
        if r.dns_answers is not None:
            yield (DNS_ANSWERS, r.dns_answers, own, t)
        if not event:
            yield (LAST, obs.time, sp, None)
    if event:
        return
    # Copies: a scrape renders in a worker thread while the loop records observations.
    for service, n in list(st.probes_total.items()):
        yield (PROBES, n, (("service", service),), None)
    for (service, reason), n in sorted(st.failures_total.items()):
        yield (FAILURES, n, (("service", service), ("reason", reason)), None)
