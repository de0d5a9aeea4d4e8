"""The engine's input stage: echo-stream reports → verdicts, and the traces they call for."""

from __future__ import annotations

import logging
from typing import TypeGuard

from netwatch.alerting.rules import Topology
from netwatch.alerting.seams import DeviceStateView, EchoReport, PollRequest
from netwatch.alerting.tracing import Tracing
from netwatch.alerting.tracker import Tracker
from netwatch.core.plugins import Health

log = logging.getLogger("netwatch.alerting")

DEBOUNCE = 2.0  # seconds: twenty villages waiting for one parent ask for it once
LOSING = "losing"  # the stream's event: half of down_echoes lost in a row
# isinstance() against a runtime-checkable Protocol looks for every member at each call: a
# fifth of `netwatch run`'s CPU at 25,000 devices (issue 10). Observations are dataclasses
# whose fields are always set, so the answer is the same for every instance of a type.
_ECHO_REPORT_TYPES: dict[type, bool] = {}


def is_echo_report(observation: object) -> TypeGuard[EchoReport]:
    """isinstance(observation, EchoReport), decided once per type."""
    kind = type(observation)
    known = _ECHO_REPORT_TYPES.get(kind)
    if known is None:
        known = _ECHO_REPORT_TYPES[kind] = isinstance(observation, EchoReport)
    return known


class Intake:
    def __init__(
        self, tracker: Tracker, tracing: Tracing, request_poll: PollRequest | None
    ) -> None:
        self.tracker = tracker
        self.tracing = tracing
        self.request_poll = request_poll
        self.errors = 0  # failed applications and re-check requests (logged)
        self.changed = False  # a verdict changed since the engine last looked
        self._asked: dict[str, float] = {}  # device + reason → last accepted request

    def on_observation(
        self, device_state: DeviceStateView, observation: object, topology: Topology
    ) -> None:
        """Apply an echo-stream report; an SNMP poll updates an AP's radio flag."""
        name = device_state.device.name
        if name not in topology.inventory.devices:
            return
        # is_echo_report and observe, inline: this runs for every round of every device.
        echo = _ECHO_REPORT_TYPES.get(type(observation))
        if echo is None:
            echo = is_echo_report(observation)
        if echo:
            report: EchoReport = observation  # type: ignore[assignment]  # (decided above)
            try:
                if self.tracker.observe(name, report):
                    self.changed = True
                if report.event == LOSING and self.tracing.traceable(name, topology):
                    self.tracing.request(name, topology)
            except Exception:
                self.errors += 1
                log.exception("alerting: cannot apply a ping report of device %s", name)
            return
        track = self.tracker.tracks.get(name)
        if track is not None:  # another collector's poll (SNMP): radios of an AP
            verdicts = device_state.verdicts()
            radio_down = any(v.health is Health.NOT_SERVING for v in verdicts)
            if radio_down != track.radio_down:
                track.radio_down = radio_down
                track.standing = self.tracker.standing(track)
                self.tracker.touched.add(name)

    def observe(self, name: str, report: EchoReport, topology: Topology) -> None:
        # (on_observation does the same inline)
        if self.tracker.observe(name, report):
            self.changed = True
        # A verdict may follow in a few seconds: where the path breaks is worth knowing then.
        if report.event == LOSING and self.tracing.traceable(name, topology):
            self.tracing.request(name, topology)

    def ask(self, device: str, reason: str, at: float) -> None:
        """A re-check request for device (debounced per reason)."""
        if self.request_poll is None:
            return
        key = f"{device}\0{reason}"
        last = self._asked.get(key)
        if last is not None and 0 <= at - last < DEBOUNCE:
            return
        try:
            taken = self.request_poll(device, "ping", reason)
        except Exception:
            self.errors += 1
            log.exception("alerting: re-check request for %s failed", device)
            return
        if taken:
            self._asked[key] = at
        else:
            log.debug("alerting: no ping job for %s takes the %s re-check", device, reason)
