"""SNMP state of one device: counters made monotonic, rates, reboots and the radio rollup.

Counter32 wraps are bridged (a drop without a reboot is a wrap); a drop in sysUpTime is a
reboot unless the wall-clock time elapsed says the 32-bit TimeTicks wrapped (~497 days).
Totals for Prometheus restart from the device's raw value after a reboot, as Prometheus
expects of a counter reset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from netwatch.collectors.snmp.observation import SnmpInterface, SnmpObservation
from netwatch.core.model import Device, Role
from netwatch.core.plugins import Health, Verdict

TICKS_WRAP = 2**32
IF_MIB_ROOTS = ("1.3.6.1.2.1.2.2.1.", "1.3.6.1.2.1.31.1.1.1.")
# How far the uptime may stray from the wall clock (agent jitter, slow polls) and still
# count as the same boot: 10% of the elapsed time, at least 30 s.
_TICK_SLACK_RATIO = 0.10
_TICK_SLACK_MIN = 3000

OPER_UP = 1
# ifOperStatus values that mean "down for sure": down(2), notPresent(6), lowerLayerDown(7).
OPER_DOWN = frozenset({2, 6, 7})
ADMIN_UP = 1


@dataclass(slots=True)
class Accum:
    """A device counter made monotonic: raw values in, a wrap-bridged total out."""

    raw: int
    total: int
    bits: int

    def advance(self, raw: int, bits: int, reboot: bool) -> int | None:
        """Take a new raw reading; return the delta, or None when there is no delta."""
        if reboot or bits != self.bits:
            self.raw, self.total, self.bits = raw, raw, bits
            return None
        if raw >= self.raw:
            delta = raw - self.raw
        elif bits == 32:
            delta = raw + 2**32 - self.raw  # one Counter32 wrap
        else:
            # A Counter64 never wraps in practice: a drop is a reset (discontinuity).
            self.raw, self.total = raw, raw
            return None
        self.raw = raw
        self.total += delta
        return delta


@dataclass(slots=True)
class InterfaceState:
    iface: SnmpInterface
    counters: dict[str, Accum] = field(default_factory=dict)
    in_bps: float | None = None  # bits/s over the last two polls
    out_bps: float | None = None


@dataclass(slots=True)
class SnmpDeviceState:
    last: SnmpObservation | None = None  # the last observation (also failed ones)
    last_ok: SnmpObservation | None = None
    interfaces: dict[int, InterfaceState] = field(default_factory=dict)
    reboots_total: int = 0
    uptime_wraps_total: int = 0
    polls_total: int = 0
    errors_total: dict[str, int] = field(default_factory=dict)
    series_dropped_total: int = 0
    labels_shortened_total: int = 0
    version: int = 0
    _ticks: int | None = None
    _ticks_time: float = 0.0
    _if_time: float | None = None  # time of the observation the interface counters are from

    def verdict(self, device: Device) -> Verdict | None:
        """An AP that answers ping with every enabled radio oper-down serves no Wi-Fi."""
        if device.role is Role.AP and self.wifi_down():
            return _RADIO_DOWN
        return None

    def apply(self, obs: SnmpObservation) -> None:
        self.last = obs
        self.polls_total += 1
        self.series_dropped_total += obs.series_dropped
        self.labels_shortened_total += obs.labels_shortened
        if obs.error:
            self.errors_total[obs.error] = self.errors_total.get(obs.error, 0) + 1
            return
        reboot = self._uptime(obs)
        if any(w.startswith(IF_MIB_ROOTS) for w in obs.failed_walks):
            # Half an interface table would look like vanished interfaces or a switch to
            # 32-bit counters (both reset the totals): keep the last good interface state.
            if reboot:
                for st in self.interfaces.values():
                    st.in_bps = st.out_bps = None
            self.last_ok = dataclasses.replace(obs, interfaces=self._last_interfaces())
            return
        prev_time = self._if_time
        self._if_time = obs.time
        elapsed = obs.time - prev_time if prev_time is not None else None
        seen: dict[int, InterfaceState] = {}
        for iface in obs.interfaces:
            st = self.interfaces.get(iface.index) or InterfaceState(iface)
            st.iface = iface
            deltas: dict[str, int | None] = {}
            for name in COUNTERS:
                raw = getattr(iface, name)
                if raw is None:
                    st.counters.pop(name, None)
                    continue
                bits = iface.counter_bits if name in ("in_octets", "out_octets") else 32
                acc = st.counters.get(name)
                if acc is None:
                    st.counters[name] = Accum(raw, raw, bits)
                    deltas[name] = None
                else:
                    deltas[name] = acc.advance(raw, bits, reboot)
            st.in_bps = _rate(deltas.get("in_octets"), elapsed)
            st.out_bps = _rate(deltas.get("out_octets"), elapsed)
            seen[iface.index] = st
        self.interfaces = seen  # interfaces gone from the device drop out
        self.last_ok = obs

    def _last_interfaces(self) -> list[SnmpInterface]:
        return [st.iface for st in self.interfaces.values()]

    def _uptime(self, obs: SnmpObservation) -> bool:
        """True when this observation shows a reboot since the last one."""
        ticks = obs.uptime_ticks
        if ticks is None:
            return False
        prev, prev_time = self._ticks, self._ticks_time
        self._ticks, self._ticks_time = ticks, obs.time
        if prev is None or ticks >= prev:
            return False
        expected = prev + (obs.time - prev_time) * 100.0
        slack = max(_TICK_SLACK_MIN, (obs.time - prev_time) * 100.0 * _TICK_SLACK_RATIO)
        if expected >= TICKS_WRAP - slack and abs((ticks + TICKS_WRAP) - expected) <= slack:
            self.uptime_wraps_total += 1
            return False
        self.reboots_total += 1
        return True

    def wifi_down(self) -> bool | None:
        """True when the device has radio interfaces and every admin-up one is surely down.

        One radio up (a 5 GHz rai0 beside a dead ra0) is Wi-Fi up. A radio whose state is not
        a clear down (unknown, dormant, absent) leaves the answer None rather than a dead AP.
        None too when SNMP says nothing (no poll yet, failed poll, or no radio interfaces).
        """
        obs = self.last
        if obs is None or obs.error or self.last_ok is None:
            return None
        radios = [i for i in self.last_ok.interfaces if i.radio]
        enabled = [i for i in radios if i.admin_status in (None, ADMIN_UP)]
        if not radios:
            return None
        if any(i.oper_status == OPER_UP for i in enabled):
            return False
        if any(i.oper_status not in OPER_DOWN for i in enabled):
            return None
        return True


_RADIO_DOWN = Verdict(Health.NOT_SERVING, "radio down")


def record(st: SnmpDeviceState, obs: SnmpObservation) -> None:
    """How an SNMP poll lands in a device's SNMP state."""
    st.apply(obs)


COUNTERS = ("in_octets", "out_octets", "in_errors", "out_errors", "in_discards", "out_discards")


def _rate(delta: int | None, elapsed: float | None) -> float | None:
    if delta is None or not elapsed or elapsed <= 0:
        return None
    return delta * 8.0 / elapsed
