"""The validated inventory: regency → districts → villages → devices, plus settings.

Plain frozen dataclasses: the config loader builds them, everything downstream only reads them.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from netwatch.public.settings import PublicSettings


class Role(enum.StrEnum):
    ROUTER = "router"
    AP = "ap"
    OLT = "olt"
    SWITCH = "switch"
    OTHER = "other"


class VillageKind(enum.StrEnum):
    DESA = "desa"
    KELURAHAN = "kelurahan"


@dataclass(frozen=True, slots=True)
class Source:
    """Where a config item was written, for error messages (1-based line)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class SecretRef:
    """A secret named by reference; config files never hold the secret itself."""

    env: str | None = None
    file: str | None = None

    def resolve(self) -> str:
        """Read the secret now; raises KeyError/OSError naming the reference."""
        if self.env is not None:
            try:
                return os.environ[self.env]
            except KeyError:
                raise KeyError(f"environment variable {self.env} is not set") from None
        if self.file is not None:
            with open(self.file, encoding="utf-8") as fh:
                return fh.read().strip()
        raise KeyError("empty secret reference")


@dataclass(frozen=True, slots=True)
class SnmpCredential:
    """SNMP access by name: v1/v2c community or a v3 USM user."""

    name: str
    version: str  # "1" | "2c" | "3"
    community: SecretRef | None = None
    user: str | None = None
    auth_protocol: str | None = None  # md5 | sha | sha224 | sha256 | sha384 | sha512
    auth_key: SecretRef | None = None
    priv_protocol: str | None = None  # des | aes128 | aes192 | aes256 | aes192c | aes256c
    priv_key: SecretRef | None = None
    context: str = ""
    port: int = 161
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    phone: str | None = None
    email: str | None = None
    telegram: str | None = None


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    role: Role
    address: str
    district: str  # district code, e.g. "35.10.07"
    village: str | None = None  # village code; None for a district-level device (a POP router)
    parent: str | None = None  # device name on the path to the core
    snmp: str | None = None  # credential name
    profile: str | None = None  # vendor profile name; None = detect by sysObjectID
    tags: tuple[str, ...] = ()
    ping: bool = True
    ping_interval: float | None = None  # seconds; None = settings.ping.interval
    snmp_interval: float | None = None  # seconds; None = settings.snmp.interval
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Village:
    code: str  # Kemendagri code, e.g. "35.10.07.2001"
    name: str
    kind: VillageKind
    district: str  # district code
    lat: float | None = None
    lon: float | None = None
    contacts: tuple[Contact, ...] = ()
    devices: tuple[str, ...] = ()  # device names
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class District:
    code: str  # e.g. "35.10.07"
    name: str
    villages: tuple[str, ...] = ()  # village codes
    devices: tuple[str, ...] = ()  # district-level device names (POP routers, OLTs)
    source: Source | None = None


def _bounded(default: float, low: float, *, strict: bool = False) -> Any:
    """A settings field with a lower bound (strict: value > low), checked by the config loader."""

    def check(value: float) -> None:
        if value < low or (strict and value == low):
            raise ValueError(f"{value:g} must be {'>' if strict else '>='} {low:g}")

    return field(default=default, metadata={"check": check})


def _check_listen(value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port (e.g. 127.0.0.1:9108, [::1]:9108)")


@dataclass(frozen=True, slots=True)
class PingSettings:
    interval: float = _bounded(30.0, 0, strict=True)  # seconds between rounds per device
    count: int = _bounded(5, 1)  # echo requests per round
    spacing: float = _bounded(0.2, 0)  # seconds between the echoes of one round
    timeout: float = _bounded(1.0, 0, strict=True)  # seconds to wait for the last echo's reply
    size: int = _bounded(56, 0)  # ICMP payload bytes, as ping(8)


@dataclass(frozen=True, slots=True)
class SnmpSettings:
    interval: float = _bounded(60.0, 0, strict=True)
    timeout: float = _bounded(2.0, 0, strict=True)
    retries: int = _bounded(1, 0)
    max_repetitions: int = _bounded(25, 1)


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    max_concurrency: int = _bounded(1000, 1)  # device jobs running at once
    misfire_grace: float = _bounded(5.0, 0)  # seconds a late job may still start


@dataclass(frozen=True, slots=True)
class Settings:
    language: Literal["id", "en"] = "id"  # text people read (alerts, status page)
    listen: str = field(default="127.0.0.1:9108", metadata={"check": _check_listen})
    ping: PingSettings = field(default_factory=PingSettings)
    snmp: SnmpSettings = field(default_factory=SnmpSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    influxdb: InfluxSettings | None = None  # off unless configured
    snmp_traps: SnmpTrapSettings = field(default_factory=lambda: SnmpTrapSettings())
    alerting: AlertingSettings = field(default_factory=lambda: AlertingSettings())
    # Defined at the end of this file; the lambda defers the name lookup.
    notifications: NotificationSettings = field(default_factory=lambda: NotificationSettings())
    public: PublicSettings = field(default_factory=PublicSettings)  # the public board


@dataclass(frozen=True, slots=True)
class Inventory:
    regency_code: str
    regency_name: str
    settings: Settings
    districts: dict[str, District]  # by code, in config order
    villages: dict[str, Village]  # by code
    devices: dict[str, Device]  # by name
    credentials: dict[str, SnmpCredential]  # by name
    source: str = ""  # root config path

    def village_devices(self, code: str) -> list[Device]:
        return [self.devices[n] for n in self.villages[code].devices]


def _one_of(*choices: str):
    def check(value: str) -> None:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of {', '.join(choices)}")

    return check


def _positive(value: float) -> None:
    if value <= 0:
        raise ValueError(f"must be positive, not {value}")


def _http_url(value: str) -> None:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")


def _check(fn) -> dict:
    return {"check": fn}


@dataclass(frozen=True, slots=True)
class InfluxSettings:
    """Push to InfluxDB (docs/influxdb.md); mode v2 = /api/v2/write, v1 = /write?db= (≤ 1.7)."""

    url: str = field(metadata=_check(_http_url))
    bucket: str  # v2: bucket (1.8+: "db/rp"); v1: database, or "db/rp"
    mode: str = field(default="v2", metadata=_check(_one_of("v2", "v1")))
    org: str = ""
    token: SecretRef | None = None  # v2 token (1.8+: "user:password")
    username: str | None = None  # v1 basic auth
    password: SecretRef | None = None
    verify_tls: bool = True
    ca_file: str | None = None
    timeout: float = field(default=10.0, metadata=_check(_positive))  # per write request
    precision: str = field(default="ms", metadata=_check(_one_of("s", "ms", "us", "ns")))
    batch_size: int = field(default=5000, metadata=_check(_positive))  # points per request
    flush_interval: float = field(default=1.0, metadata=_check(_positive))  # max wait to batch
    retry_initial: float = field(default=1.0, metadata=_check(_positive))  # doubles, jittered
    retry_max: float = field(default=60.0, metadata=_check(_positive))
    spool_dir: str = "/var/lib/netwatch/influxdb-spool"
    spool_max_bytes: int = field(default=512 << 20, metadata=_check(_positive))
    spool_sync_interval: float = field(default=1.0, metadata=_check(_positive))  # fsync period
    snapshot_interval: float | None = None  # village/alert snapshot; None = ping interval


@dataclass(frozen=True, slots=True)
class SnmpTrapSettings:
    """The SNMP trap listener (settings.snmp_traps); traps only trigger an early poll."""

    enabled: bool = False
    address: str = "0.0.0.0"
    port: int = 162
    # Inventory credential names whose communities (v1/v2c) and users (v3) are accepted;
    # empty accepts every credential of the inventory.
    credentials: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A planned window: one-off (ISO start/end) or recurring (days + HH:MM start/end)."""

    name: str
    start: str  # one-off: "2026-12-01T22:00"; recurring: "22:00"
    end: str  # one-off: "2026-12-02T02:00"; recurring: "02:00" (before start = next day)
    days: tuple[str, ...] = ()  # recurring: mon tue wed thu fri sat sun; empty = one-off
    timezone: str = "Asia/Jakarta"  # WIB
    villages: tuple[str, ...] = ()  # village codes
    districts: tuple[str, ...] = ()  # district codes
    devices: tuple[str, ...] = ()  # device names
    tags: tuple[str, ...] = ()  # device tags
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class AlertingSettings:
    """Alert engine: hold-downs, flapping, suppression, re-notify, escalation, persistence."""

    db_path: str = "netwatch-alerts.sqlite3"  # SQLite: alerts, history, silences, outbox
    down_rounds: int = 3  # consecutive failed rounds (confirmation bursts count) before down
    up_rounds: int = 2  # consecutive answered rounds before up again
    down_after: float = 0.0  # seconds failing at least, on top of down_rounds
    up_after: float = 0.0  # seconds answering at least, on top of up_rounds
    confirm: bool = True  # ask the scheduler for an immediate re-check after a changed round
    upstream_wait: float = 20.0  # seconds a village waits for its parents' verdict
    dependency_grace: float = 60.0  # seconds after a parent recovers before children may fire
    flap_window: float = 1800.0  # seconds over which alert state changes are counted
    flap_threshold: int = 4  # changes within flap_window that make an alert flapping
    flap_quiet: float = 900.0  # seconds without change that end flapping
    renotify_interval: float = 14400.0  # reminder while firing and unacknowledged; 0 = never
    escalate_after: float = 1800.0  # unacknowledged firing time before escalation; 0 = never
    village_down_when: str = "router_or_all_aps"  # | router | all_devices
    degraded_loss_ratio: float = 0.2  # mean echo loss over degraded_rounds above this
    degraded_rtt: float = 0.3  # seconds: mean RTT over degraded_rounds above this
    degraded_rounds: int = 10  # rounds averaged for "sustained"
    degraded_for: float = 60.0  # seconds a degraded state must last before its warning

    traceroute: bool = True  # locate the path break when a village router goes down
    traceroute_max_hops: int = 16
    traceroute_timeout: float = 1.0  # seconds waiting for the hops' answers (one try)
    traceroute_wait: float = 4.0  # seconds a firing alert waits for its traceroute
    tick: float = 1.0  # seconds between timer evaluations (re-notify, windows)
    maintenance: tuple[MaintenanceWindow, ...] = ()


# --- Notifications (netwatch.alerting.notifiers): contact lists, routes, delivery ---------------


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    url: str
    secret: SecretRef | None = None  # HMAC-SHA256 key for X-Netwatch-Signature


@dataclass(frozen=True, slots=True)
class TelegramTarget:
    chat_ids: tuple[str, ...]
    token: SecretRef
    base_url: str = "https://api.telegram.org"


@dataclass(frozen=True, slots=True)
class EmailTarget:
    to: tuple[str, ...]
    host: str
    port: int = 587
    starttls: bool = True
    tls: bool = False  # implicit TLS from the first byte (port 465); starttls is then ignored
    username: str | None = None
    password: SecretRef | None = None
    sender: str = "netwatch@localhost"
    ca_file: str | None = None  # extra CA to trust for STARTTLS (a private mail server)


@dataclass(frozen=True, slots=True)
class ContactList:
    name: str
    alertmanager: tuple[str, ...] = ()  # Alertmanager base URLs
    webhook: tuple[WebhookTarget, ...] = ()
    telegram: tuple[TelegramTarget, ...] = ()
    email: tuple[EmailTarget, ...] = ()


@dataclass(frozen=True, slots=True)
class NotificationRoute:
    contacts: str  # contact list name
    districts: tuple[str, ...] = ()  # district codes; empty = any
    severities: tuple[str, ...] = ()  # critical | warning; empty = any
    continue_routing: bool = False  # as Alertmanager's `continue`: keep matching after this one
    escalation: str | None = None  # contact list for escalations (escalation_level >= 1)


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    min_backoff: float = 2.0  # seconds before the first retry
    max_backoff: float = 600.0
    max_age: float = 86400.0  # undelivered this long: dropped and counted
    timeout: float = 10.0  # per HTTP request / SMTP session
    concurrency: int = 8  # sends in flight at once
    poll_interval: float = 1.0  # seconds between outbox scans when idle
    keep_done: float = 604800.0  # delivered/dropped rows kept this long for inspection


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    language: str | None = None  # None = Settings.language
    timezone: str = "Asia/Jakarta"
    link_base_url: str = ""  # e.g. https://noc.example/villages/ (code appended)
    contacts: tuple[ContactList, ...] = ()
    routes: tuple[NotificationRoute, ...] = ()
    default_contacts: str | None = None  # contact list when no route matches
    alertmanager_repost_interval: float = 60.0  # keep below Alertmanager's resolve_timeout
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

    def __post_init__(self) -> None:
        # Lazy: routing imports this module. A ValueError here is reported at the config line.
        from netwatch.alerting.routing import check

        problems = check(self)
        if problems:
            raise ValueError("; ".join(problems))
