"""What a village's links report (OLT, POP, controller): samples of the neutral stream, per poll.

collectors/snmp owns its observation; the engine reads the same samples a scrape writes
(`netwatch_snmp_onu_up`, `..._wifi_ap_up`, `..._interface_oper_up`...), never the collector.
Label names are those every profile of a kind shares (docs/snmp-profiles.md, docs/metrics.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, TypeGuard, runtime_checkable

from netwatch.core.model import ControllerLink, Device, OnuLink
from netwatch.core.plugins import AnyPlugin, DevicePart, plugin_for, registered
from netwatch.core.samples import View

POLL_UP = "netwatch_snmp_up"
ONU_UP = "netwatch_snmp_onu_up"
ONU_CAUSE = "netwatch_snmp_onu_last_down_cause_info"
RX = "netwatch_snmp_optical_rx_power_dbm"
AP_UP = "netwatch_snmp_wifi_ap_up"
RADIO_UP = "netwatch_snmp_wifi_radio_up"
CLIENTS = "netwatch_snmp_wifi_clients"
OPER_UP = "netwatch_snmp_interface_oper_up"
WANTED = frozenset({ONU_UP, ONU_CAUSE, RX, AP_UP, RADIO_UP, CLIENTS, OPER_UP})
LABEL_MAX = 64  # characters of an ONU's name or serial carried on the village's series
# ZTE names the cause in the ONU's state while it is offline (zxGponOntPhaseState).
STATE_CAUSES = frozenset({"los", "dying_gasp"})
# A scope that partitions an AP's own clients, best first (docs/metrics.md: never mix scopes).
CLIENT_SCOPES = ("device", "interface", "ssid", "radio", "band")


@runtime_checkable
class PartsView(Protocol):
    """A device's state with its collector parts (netwatch.core.state.DeviceState)."""

    @property
    def device(self) -> Device: ...

    @property
    def parts(self) -> Mapping[str, DevicePart]: ...


@dataclass(frozen=True, slots=True)
class Row:
    value: float
    labels: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """The wanted families of one device after its last poll that answered."""

    time: float
    rows: Mapping[str, tuple[Row, ...]]

    def of(self, family: str) -> tuple[Row, ...]:
        return self.rows.get(family, ())


@dataclass(frozen=True, slots=True)
class Onu:
    up: bool
    state: str  # the OLT's own word ("" where the profile has none)
    cause: str  # dying_gasp, los, another of the OLT's words, or unknown
    rx_onu: float | None  # dBm received at the ONU
    rx_olt: float | None  # dBm received at the OLT from this ONU
    name: str = ""  # its description on the OLT ("" where the profile reads none)
    serial: str = ""  # its GPON serial ("HWTC1A2B3C4D"), as the OLT reports it


# Whether a plugin's samples can say a poll answered (POLL_UP among its families), by plugin.
_POLLED: dict[AnyPlugin, bool] = {}


def _is_parts_view(device_state: object) -> TypeGuard[PartsView]:
    """isinstance(device_state, PartsView) as the runtime-checkable Protocol decides it (each
    member present), without its look-up of the Protocol's members at every call
    (typing._get_protocol_attrs: a third of `read` for an SNMP poll of a watched device)."""
    return hasattr(device_state, "device") and hasattr(device_state, "parts")


def read(device_state: object, observation: object) -> DeviceFacts | None:
    """The facts of one applied SNMP poll; None for other collectors or a failed poll."""
    try:
        plugin = plugin_for(observation)  # type: ignore[arg-type]  # any observation
    except TypeError:
        return None
    # Another collector's observation (the echo stream's rounds of a watched AP, ~170 a second
    # at 50,000 devices) holds no facts: answered before the runtime-checkable Protocol's
    # isinstance (every member looked up at each call) and the samples of its part (issue 10).
    polled = _POLLED.get(plugin)
    if polled is None:
        polled = _POLLED[plugin] = any(f.name == POLL_UP for f in plugin.families)
    if not polled or not _is_parts_view(device_state):
        return None
    return _facts(plugin, device_state, float(getattr(observation, "time", 0.0)))


def of_state(device_state: PartsView) -> DeviceFacts | None:
    """The facts of a device's last SNMP poll as state holds it (for a scrape)."""
    for plugin in registered():
        if plugin.name in device_state.parts:
            facts = _facts(plugin, device_state, 0.0)
            if facts is not None:
                return facts
    return None


def _facts(plugin: AnyPlugin, device_state: PartsView, at: float) -> DeviceFacts | None:
    part = device_state.parts.get(plugin.name)
    if part is None:
        return None
    answered: bool | None = None
    rows: dict[str, list[Row]] = {}
    for family, value, labels, _ in plugin.samples_of(device_state.device, part, View.STATE):
        if family.name == POLL_UP:
            answered = value == 1
        elif family.name in WANTED:
            rows.setdefault(family.name, []).append(Row(value, dict(labels)))
    if not answered:
        return None  # not SNMP, or no answer: what was known stays as it was
    return DeviceFacts(at, {k: tuple(v) for k, v in rows.items()})


def _is_onu(link: OnuLink, labels: Mapping[str, str]) -> bool:
    if link.pon is not None:
        return labels.get("pon") == link.pon and labels.get("onu") == str(link.id)
    if link.serial is not None:
        return labels.get("onu_serial", "").lower() == link.serial.lower()
    return labels.get("onu_name") == link.name


def onu(facts: DeviceFacts, link: OnuLink) -> Onu | None:
    """The village's ONU as its OLT reports it; None when the OLT does not list it."""
    ups = [r for r in facts.of(ONU_UP) if _is_onu(link, r.labels)]
    if not ups:
        return None
    up = any(r.value == 1 for r in ups)
    state = next((r.labels["state"] for r in ups if r.labels.get("state")), "")
    cause = state if state in STATE_CAUSES else ""
    if not cause:
        named = [r.labels.get("onu_last_down_cause", "") for r in facts.of(ONU_CAUSE)
                 if _is_onu(link, r.labels)]  # fmt: skip
        cause = next((c for c in named if c), "unknown")
    rx: dict[str, float] = {}
    for r in facts.of(RX):
        if _is_onu(link, r.labels):
            rx[r.labels.get("side", "onu")] = r.value
    name = next((r.labels["onu_name"] for r in ups if r.labels.get("onu_name")), "")
    serial = next((r.labels["onu_serial"] for r in ups if r.labels.get("onu_serial")), "")
    # Bounded: one ONU per village, and the OLT's texts cut to a label's sensible length.
    return Onu(up, state, cause, rx.get("onu"), rx.get("olt"), name[:LABEL_MAX], serial[:LABEL_MAX])


def _mac(text: str) -> str:
    return "".join(c for c in text.lower() if c in "0123456789abcdef")


def _is_ap(link: ControllerLink, labels: Mapping[str, str]) -> bool:
    if link.ap is not None:
        return labels.get("ap") == link.ap
    return _mac(labels.get("ap_mac", "")) == _mac(link.ap_mac or "")


def ap_on_controller(facts: DeviceFacts, link: ControllerLink) -> tuple[bool, str] | None:
    """(joined, the controller's word) for an AP; None when the controller lists no AP at all.

    A controller that lists APs but not this one has lost it (Cisco WLCs drop a lost AP).
    """
    rows = facts.of(AP_UP)
    if not rows:
        return None
    mine = [r for r in rows if _is_ap(link, r.labels)]
    if not mine:
        return False, "not listed"
    return any(r.value == 1 for r in mine), mine[0].labels.get("state", "")


def radios_on_controller(facts: DeviceFacts, link: ControllerLink) -> tuple[int, int] | None:
    """(radios up, radios) of an AP as its controller reports them; None when it lists none."""
    mine = [r for r in facts.of(RADIO_UP) if _is_ap(link, r.labels)]
    if not mine:
        return None
    return sum(1 for r in mine if r.value == 1), len(mine)


def port_up(facts: DeviceFacts, interface: str) -> bool | None:
    """ifOperStatus of one interface (by ifName) is up; None when it is not in the poll."""
    for r in facts.of(OPER_UP):
        if r.labels.get("interface") == interface:
            return r.value == 1
    return None


def clients(facts: DeviceFacts, ap: str | None = None) -> float | None:
    """Clients of a device (its own polls), or of AP `ap` as its controller counts them."""
    rows = facts.of(CLIENTS)
    if not rows:  # (every tick asks this of every AP polled over SNMP, most count none)
        return None
    if ap is not None:
        mine = [r.value for r in rows if r.labels.get("scope") == "ap" and r.labels.get("ap") == ap]
        return sum(mine) if mine else None
    for scope in CLIENT_SCOPES:
        values = [r.value for r in rows if r.labels.get("scope") == scope]
        if values:
            return sum(values)
    return None
