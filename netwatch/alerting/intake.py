"""The engine's input stage: rounds → hold-downs, and the re-checks and traces they call for."""

from __future__ import annotations

import logging

from netwatch.alerting.rules import Topology
from netwatch.alerting.seams import DeviceStateView, EchoCounts, PingRound, PollRequest
from netwatch.alerting.tracing import Tracing
from netwatch.alerting.tracker import Tracker
from netwatch.core.plugins import Health

log = logging.getLogger("netwatch.alerting")

DEBOUNCE = 2.0  # seconds: twenty villages failing at once ask their parent once


class Intake:
    def __init__(
        self, tracker: Tracker, tracing: Tracing, request_poll: PollRequest | None
    ) -> None:
        self.tracker = tracker
        self.tracing = tracing
        self.request_poll = request_poll
        self.errors = 0  # failed applications and re-check requests (logged)
        self._asked: dict[str, float] = {}  # device + reason → last accepted request

    def on_observation(
        self, device_state: DeviceStateView, observation: object, topology: Topology
    ) -> None:
        """Apply a ping round to the hold-downs; an SNMP poll updates an AP's radio flag."""
        name = device_state.device.name
        if name not in topology.inventory.devices:
            return
        if not (isinstance(observation, PingRound) and isinstance(observation.result, EchoCounts)):
            track = self.tracker.tracks.get(name)
            if track is not None:  # another collector's poll (SNMP): radios of an AP
                verdicts = device_state.verdicts()
                track.radio_down = any(v.health is Health.NOT_SERVING for v in verdicts)
            return
        r = observation.result
        try:
            self.observe(name, observation.time, r.sent, r.received, r.rtt_avg, topology)
        except Exception:
            self.errors += 1
            log.exception("alerting: cannot apply a round of device %s", name)

    def observe(
        self,
        name: str,
        at: float,
        sent: int,
        received: int,
        rtt_avg: float | None,
        topology: Topology,
    ) -> None:
        changed, reasons = self.tracker.observe(name, at, sent, received, rtt_avg)
        for reason in reasons:
            self._ask(name, reason, at)
        t = self.tracker.tracks[name]
        if t.fail_run == 1:
            # Ask the parents now, so a cut upstream is known before its villages would fire.
            for parent in topology.ancestors.get(name, ()):
                pt = self.tracker.tracks.get(parent)
                if pt is not None and not pt.failing:
                    self._ask(parent, "upstream-check", at)
            if self.tracing.traceable(name, topology):
                self.tracing.request(name, topology)
        if changed and t.confirmed_up:
            # A parent is back: re-check what hangs below it rather than wait a whole interval.
            for child in topology.descendants.get(name, ()):
                ct = self.tracker.tracks.get(child)
                if ct is not None and ct.confirmed_up is not True:
                    self._ask(child, "upstream-restored", at)

    def _ask(self, device: str, reason: str, at: float) -> None:
        if self.request_poll is None:
            return
        key = f"{device}\0{reason}"
        last = self._asked.get(key)
        if reason == "upstream-check" and last is not None and 0 <= at - last < DEBOUNCE:
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
