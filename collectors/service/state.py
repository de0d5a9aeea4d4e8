"""A device's service-probe state: the last results, failure counts, and its verdict."""

from __future__ import annotations

from dataclasses import dataclass, field

from netwatch.collectors.service.observation import ServiceObservation
from netwatch.core.model import Device
from netwatch.core.plugins import Health, Verdict

REASON = "service failed"  # the status page translates this prefix


@dataclass(slots=True)
class ServiceDeviceState:
    last: ServiceObservation | None = None
    probes_total: dict[str, int] = field(default_factory=dict)  # by service
    failures_total: dict[tuple[str, str], int] = field(default_factory=dict)  # (service, reason)
    failing_since: float = 0.0  # when the current run of failures began (0: none failing)
    version: int = 0
    _verdict: Verdict | None = None

    def verdict(self, device: Device) -> Verdict | None:
        """A failing service leaves the device serving but its village degraded."""
        return self._verdict

    def failed(self) -> list[str]:
        """Names of the services whose last probe failed."""
        return [] if self.last is None else [r.service for r in self.last.results if not r.success]


def record(st: ServiceDeviceState, obs: ServiceObservation) -> None:
    st.last = obs
    for r in obs.results:
        st.probes_total[r.service] = st.probes_total.get(r.service, 0) + 1
        if not r.success:
            key = (r.service, r.reason)
            st.failures_total[key] = st.failures_total.get(key, 0) + 1
    failed = st.failed()
    if not failed:
        st.failing_since = 0.0
        st._verdict = Verdict(Health.OK) if obs.results else None
        return
    if not st.failing_since:
        st.failing_since = obs.time
    st._verdict = Verdict(Health.IMPAIRED, f"{REASON}: {', '.join(failed)}", st.failing_since)
