"""The SNMP collector's observation: one poll of one device (system, interfaces, samples)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class SnmpInterface:
    """One IF-MIB row as polled: octet counters raw, with the width they came in (32/64)."""

    index: int
    name: str = ""
    alias: str = ""
    descr: str = ""
    if_type: int | None = None
    admin_status: int | None = None  # IF-MIB: 1 up, 2 down, 3 testing
    oper_status: int | None = None  # IF-MIB: 1 up, 2 down, ... 7 lowerLayerDown
    speed_bps: float | None = None
    in_octets: int | None = None
    out_octets: int | None = None
    counter_bits: int = 64  # 64 from ifHC*Octets, 32 from ifIn/OutOctets
    in_errors: int | None = None
    out_errors: int | None = None
    in_discards: int | None = None
    out_discards: int | None = None
    radio: bool = False  # a Wi-Fi radio interface (by the profile's radio rule)


@dataclass(slots=True)
class SnmpSample:
    """One value from a profile: metric name (no prefix), labels, base-unit value."""

    metric: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()
    type: str = "gauge"  # gauge | counter | info
    help: str = ""


@dataclass(slots=True)
class SnmpObservation:
    """One SNMP poll of one device; error is a reason label when the poll failed."""

    device: str
    time: float  # unix seconds at the start of the poll
    duration: float = 0.0
    error: str | None = None  # timeout | auth | no_such_object | decode | ...
    message: str = ""
    uptime_ticks: int | None = None  # hundredths of a second
    uptime_source: str = ""  # sysUpTime | hrSystemUptime
    sys_name: str = ""
    sys_descr: str = ""
    sys_object_id: str = ""
    profiles: tuple[str, ...] = ()
    profile_reason: str = ""  # why the last profile of the stack was chosen
    profile_confidence: str = ""  # high | medium | low, as the profile states
    interfaces: list[SnmpInterface] = field(default_factory=list)
    wifi_clients: list[SnmpSample] = field(default_factory=list)
    optical: list[SnmpSample] = field(default_factory=list)  # optical_rx_dbm / optical_tx_dbm
    cpu_load_ratio: float | None = None  # mean over processors, 0–1
    memory_used_bytes: float | None = None
    memory_total_bytes: float | None = None
    samples: list[SnmpSample] = field(default_factory=list)  # vendor extras
    partial_errors: list[str] = field(default_factory=list)  # "reason: what: message"
    failed_walks: list[str] = field(default_factory=list)  # column OIDs whose walk failed
    series_dropped: int = 0  # cut by snmp.max_series_per_device
    labels_shortened: int = 0  # label values cut to snmp.max_label_length
