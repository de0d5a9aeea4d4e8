"""The validated inventory: provinces → regencies → districts → villages → devices, plus settings.

Plain frozen dataclasses: the config loader builds them, everything downstream only reads them.
One file over 400 lines on purpose: every setting with its default and its bounds in one place
is what the config loader, docs/configuration.md and a reviewer read side by side.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, Literal, TypeVar

from netwatch.core.complaint_settings import ComplaintAlertSettings
from netwatch.core.notifications import NotificationSettings
from netwatch.core.public_settings import PublicSettings
from netwatch.core.services import ServiceProbe, ServiceSettings


class Role(enum.StrEnum):
    ROUTER = "router"
    AP = "ap"
    OLT = "olt"
    SWITCH = "switch"
    OTHER = "other"


class VillageKind(enum.StrEnum):
    DESA = "desa"
    KELURAHAN = "kelurahan"


_T = TypeVar("_T")


def quick_pickle(cls: type[_T]) -> type[_T]:
    """Pickle a slots dataclass as the tuple of its values, field names looked up once.

    dataclasses' own slots pickling calls fields() for every object: unpickling a 50,000-device
    inventory (from the loader's child, at start and at every reload) took 1.2 s, not 0.3 s."""
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    values = attrgetter(*names)

    def getstate(self: object) -> tuple[object, ...]:
        return values(self) if len(names) > 1 else (values(self),)

    def setstate(self: object, state: tuple[object, ...]) -> None:
        for name, value in zip(names, state, strict=True):
            object.__setattr__(self, name, value)

    setattr(cls, "__getstate__", getstate)  # noqa: B010 (a method set on the class)
    setattr(cls, "__setstate__", setstate)  # noqa: B010
    return cls


@quick_pickle
@dataclass(frozen=True, slots=True)
class Source:
    """Where a config item was written, for error messages (1-based line)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


DAY = 86400.0


def _range_check(low: float, high: float | None, strict: bool) -> Callable[[float | None], None]:
    def check(value: float | None) -> None:
        if value is None:
            return
        if value < low or (strict and value == low):
            raise ValueError(f"{value:g} must be {'>' if strict else '>='} {low:g}")
        if high is not None and value > high:
            raise ValueError(f"{value:g} must be at most {high:g}")

    return check


def _bounded(
    default: float | None, low: float, high: float | None = None, *, strict: bool = False
) -> Any:
    """A settings field with bounds (strict: value > low), checked by the config loader.

    Any, as `dataclasses.field` itself: the call stands in for the field's default value.
    The upper bounds keep every duration inside what timers and date arithmetic can take.
    """
    return field(default=default, metadata={"check": _range_check(low, high, strict)})


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


def _pon(value: str | None) -> None:
    if value is not None and not re.fullmatch(r"\d+(/\d+)*", value):
        raise ValueError(f"{value!r} is not a PON port such as 0/1/3 (numbers and slashes)")


@dataclass(frozen=True, slots=True)
class OnuLink:
    """A village's fibre link as its OLT sees it (village `onu:`): which ONU on which OLT.

    Named by PON port and ONU id, by serial, or by the ONU's description on the OLT; the
    receive-power thresholds default to settings.fibre.
    """

    olt: str  # device name of the OLT
    pon: str | None = field(default=None, metadata={"check": _pon})  # "0/1/3"
    id: int | None = _bounded(None, 0, 65535)  # ONU id on that PON port
    serial: str | None = None  # the ONU's serial number (GPON SN)
    name: str | None = None  # the ONU's description on the OLT
    rx_min_dbm: float | None = _bounded(None, -60, 10)  # at the ONU; None: settings.fibre
    olt_rx_min_dbm: float | None = _bounded(None, -60, 10)  # at the OLT; None: settings.fibre

    def __post_init__(self) -> None:
        ways = sum((self.pon is not None or self.id is not None, self.serial is not None,
                    self.name is not None))  # fmt: skip
        if ways != 1:
            raise ValueError("name the ONU one way: pon and id, serial, or name")
        if (self.pon is None) != (self.id is None):
            raise ValueError("pon and id go together")

    def describe(self) -> str:
        """How people name it: `0/1/3:5`, the serial or the description."""
        if self.pon is not None:
            return f"{self.pon}:{self.id}"
        return self.serial or self.name or "?"


@dataclass(frozen=True, slots=True)
class PortLink:
    """A village's uplink as a port of a POP router or switch (village `uplink:`)."""

    device: str  # device name of the POP router or switch
    interface: str  # its ifName (as `netwatch snmp poll` lists it)


@dataclass(frozen=True, slots=True)
class ControllerLink:
    """The wireless controller that manages an AP (AP device `controller:`)."""

    device: str  # device name of the controller
    ap: str | None = None  # the AP's name on the controller
    ap_mac: str | None = None  # or its MAC address (any common notation)

    def __post_init__(self) -> None:
        if (self.ap is None) == (self.ap_mac is None):
            raise ValueError("name the AP one way: ap (its name on the controller) or ap_mac")


Link = OnuLink | PortLink | ControllerLink


@quick_pickle
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
    ping_interval: float | None = _bounded(None, 0, DAY, strict=True)  # None: settings.ping
    snmp_interval: float | None = _bounded(None, 0, DAY, strict=True)  # None: settings.snmp
    services: tuple[ServiceProbe, ...] = ()  # TCP/HTTP/DNS probes of this device's services
    controller: ControllerLink | None = None  # an AP's wireless controller
    source: Source | None = None


@quick_pickle
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
    # Probed with the village's router (else its first device): docs/service-probes.md.
    services: tuple[ServiceProbe, ...] = ()
    onu: OnuLink | None = None  # its fibre link as the OLT sees it
    uplink: PortLink | None = None  # its port on the POP router or switch

    def links(self) -> tuple[OnuLink | PortLink, ...]:
        """The village's uplinks that other devices report on (ONU, POP port)."""
        return tuple(x for x in (self.onu, self.uplink) if x is not None)


@quick_pickle
@dataclass(frozen=True, slots=True)
class District:
    code: str  # e.g. "35.10.07"
    name: str
    villages: tuple[str, ...] = ()  # village codes
    devices: tuple[str, ...] = ()  # district-level device names (POP routers, OLTs)
    source: Source | None = None
    shard: int | None = None  # pinned shard (the district's own `shard:`); None = hashed

    @property
    def regency(self) -> str:
        """The regency code: Kemendagri codes nest, so it is the first two parts."""
        return self.code[:5]


@dataclass(frozen=True, slots=True)
class Regency:
    """A kabupaten or kota (code NN.NN; NN.01-69 kabupaten, NN.71-99 kota)."""

    code: str  # e.g. "35.10"
    name: str
    districts: tuple[str, ...] = ()  # district codes, in config order
    shard: int | None = None  # pinned shard for its districts without their own `shard:`
    source: Source | None = None

    @property
    def province(self) -> str:
        return self.code[:2]


@quick_pickle
@dataclass(frozen=True, slots=True)
class DistrictShard:
    """One district's place in the cluster: kept for every district in every shard's view."""

    district: str
    name: str
    shard: int
    villages: int


@dataclass(frozen=True, slots=True)
class Province:
    code: str  # e.g. "35"
    name: str
    regencies: tuple[str, ...] = ()  # regency codes, in config order
    source: Source | None = None


def _check_listen(value: str) -> None:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{value!r} is not host:port (e.g. 127.0.0.1:9108, [::1]:9108)")


@dataclass(frozen=True, slots=True)
class PingSettings:
    """The echo stream (docs/ping.md): count echoes per interval, a burst on a lost echo."""

    interval: float = _bounded(30.0, 0, DAY, strict=True)  # seconds per round (report)
    count: int = _bounded(5, 1, 1000)  # steady echoes per round: one every interval / count
    spacing: float = _bounded(0.2, 0, 60)  # seconds between the echoes of a burst
    timeout: float = _bounded(1.0, 0, 60, strict=True)  # an echo is lost without reply by then
    size: int = _bounded(56, 0, 65000)  # ICMP payload bytes, as ping(8)
    down_echoes: int = _bounded(17, 1, 1000)  # echoes lost in a row: the device is down
    up_echoes: int = _bounded(2, 1, 1000)  # replies (before down_echoes losses): up again


@dataclass(frozen=True, slots=True)
class SnmpSettings:
    interval: float = _bounded(60.0, 0, DAY, strict=True)
    timeout: float = _bounded(2.0, 0, 60, strict=True)
    retries: int = _bounded(1, 0, 10)
    max_repetitions: int = _bounded(25, 1, 1000)
    # Varbinds one GETBULK of several columns asks for (columns × repetitions); 0: one column
    # per walk. 100 is net-snmp snmpd's default maxGetbulkResponses.
    bulk_varbinds: int = _bounded(100, 0, 10_000)
    # What one device may add to /metrics; the rest is dropped and counted per device.
    max_series_per_device: int = _bounded(5000, 100, 1_000_000)
    max_label_length: int = _bounded(256, 16, 65536)  # characters of one label value


@dataclass(frozen=True, slots=True)
class FibreSettings:
    """Receive-power thresholds of a village's ONU (settings.fibre): below is a warning.

    Defaults are GPON class B+ receiver sensitivities (ITU-T G.984.2): −27 dBm at the ONU,
    −28 dBm at the OLT; a link that drifts below them works for now and fails soon.
    """

    onu_rx_min_dbm: float = _bounded(-27.0, -60, 10)
    olt_rx_min_dbm: float = _bounded(-28.0, -60, 10)


def _hours(value: str) -> None:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError(f"{value!r} is not office hours such as 08:00-16:00")


def _days(value: tuple[str, ...]) -> None:
    bad = [d for d in value if d not in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")]
    if bad:
        raise ValueError(f"unknown day {bad[0]!r} (mon tue wed thu fri sat sun)")


@dataclass(frozen=True, slots=True)
class WifiSettings:
    """When an AP that serves no client at all is a warning (settings.wifi).

    An AP that answers, radios up, with zero clients for `no_clients_for` seconds inside office
    hours (village offices are busy then) points at a broken DHCP server or captive portal.
    """

    no_clients_for: float = _bounded(7200.0, 0, DAY)  # 0: never warn
    office_hours: str = field(default="08:00-16:00", metadata={"check": _hours})  # local
    office_days: tuple[str, ...] = field(
        default=("mon", "tue", "wed", "thu", "fri"), metadata={"check": _days}
    )
    timezone: str = "Asia/Jakarta"  # WIB


@dataclass(frozen=True, slots=True)
class SchedulerSettings:
    max_concurrency: int = _bounded(1000, 1, 1_000_000)  # device jobs running at once
    misfire_grace: float = _bounded(5.0, 0, DAY)  # seconds a late job may still start


_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")


def _check_users(users: dict[str, str]) -> None:
    for name, hashed in users.items():
        if not (hashed.startswith(_BCRYPT_PREFIXES) and len(hashed) == 60):
            raise ValueError(
                f"basic_auth_users.{name}: not a bcrypt hash ($2b$..., 60 characters); "
                "make one with `netwatch web hash-password`"
            )


@dataclass(frozen=True, slots=True)
class WebSettings:
    """The admin listener (exporter-toolkit's web config): TLS, basic auth, limits."""

    tls_cert_file: str | None = None  # PEM; with tls_key_file turns on HTTPS
    tls_key_file: str | None = None
    tls_min_version: str = field(default="TLS12", metadata={"check": lambda v: _tls_version(v)})
    # user → bcrypt hash; empty = no authentication (keep the listener on loopback then)
    basic_auth_users: dict[str, str] = field(default_factory=dict, metadata={"check": _check_users})
    allowed_hosts: tuple[str, ...] = ()  # Host names accepted besides IP literals and localhost
    header_timeout: float = _bounded(10.0, 0, 300, strict=True)  # first byte → end of headers
    request_timeout: float = _bounded(60.0, 0, 3600, strict=True)  # body read + handler
    idle_timeout: float = _bounded(60.0, 0, 3600, strict=True)  # keep-alive with no request
    max_connections: int = _bounded(512, 1, 100_000)  # open at once, all clients
    max_connections_per_client: int = _bounded(64, 1, 100_000)  # open at once, one address
    max_concurrent_scrapes: int = _bounded(10, 1, 10_000)  # /metrics written at once; then 503
    max_body_bytes: int = _bounded(65536, 0, 1 << 30)
    max_header_bytes: int = _bounded(8190, 256, 1 << 20)  # one header line

    def __post_init__(self) -> None:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")


def _tls_version(value: str) -> None:
    if value not in ("TLS12", "TLS13"):
        raise ValueError(f"{value!r} is not one of TLS12, TLS13")


def _replicas(value: int) -> None:
    if not 1 <= value <= 26:
        raise ValueError(f"{value} must be 1..26 (replicas are named a, b, c, ...)")


def _etcd_endpoints(value: tuple[str, ...]) -> None:
    if not value:
        raise ValueError("name at least one etcd endpoint (http://HOST:2379)")
    from netwatch.config.urls import check_url  # lazy: the config package imports this module

    for url in value:
        check_url(url)


def _etcd_prefix(value: str) -> None:
    if not value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError(f"{value!r} must be a key path such as /netwatch/jatim")


@dataclass(frozen=True, slots=True)
class EtcdSettings:
    """settings.cluster.etcd: the lease that lets one replica of each shard send the direct
    notifications (Telegram, e-mail, webhook), and the log of what was told (docs/scaling.md)."""

    endpoints: tuple[str, ...] = field(default=(), metadata={"check": _etcd_endpoints})
    prefix: str = field(default="/netwatch", metadata={"check": _etcd_prefix})
    lease_ttl: float = _bounded(15.0, 3, 300)  # seconds a dead sender keeps the lease
    timeout: float = _bounded(2.0, 0, 60, strict=True)  # seconds per etcd request
    ca_file: str | None = None  # https endpoints: the CA, and a client certificate if etcd
    cert_file: str | None = None  # requires one (--client-cert-auth)
    key_file: str | None = None

    def __post_init__(self) -> None:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        if self.timeout * 3 > self.lease_ttl:
            raise ValueError(
                f"timeout ({self.timeout:g} s) must be at most a third of lease_ttl "
                f"({self.lease_ttl:g} s): the lease is renewed every third of its life"
            )


@dataclass(frozen=True, slots=True)
class ClusterSettings:
    """How many shards split the inventory and how many replicas run each (docs/scaling.md)."""

    shards: int = _bounded(1, 1)
    replicas: int = field(default=1, metadata={"check": _replicas})
    # How far apart two replicas may see the same change (None: from the ping and alerting
    # settings, netwatch.cluster.timing). Resolves wait this long before Alertmanager hears them.
    peer_lag: float | None = _bounded(None, 0, DAY)
    etcd: EtcdSettings | None = None  # needed for direct notifiers when replicas > 1


@dataclass(frozen=True, slots=True)
class Settings:
    language: Literal["id", "en"] = "id"  # text people read (alerts, status page)
    listen: str = field(default="127.0.0.1:9108", metadata={"check": _check_listen})
    web: WebSettings = field(default_factory=WebSettings)
    ping: PingSettings = field(default_factory=PingSettings)
    snmp: SnmpSettings = field(default_factory=SnmpSettings)
    fibre: FibreSettings = field(default_factory=FibreSettings)
    wifi: WifiSettings = field(default_factory=WifiSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    services: ServiceSettings = field(default_factory=ServiceSettings)
    influxdb: InfluxSettings | None = None  # off unless configured
    snmp_traps: SnmpTrapSettings = field(default_factory=lambda: SnmpTrapSettings())
    alerting: AlertingSettings = field(default_factory=lambda: AlertingSettings())
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
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
    # Above the districts: every regency and province of the config, by code in config order.
    # A shard's view keeps them all (names for labels; len() says whether there are several).
    regencies: dict[str, Regency] = field(default_factory=dict)
    provinces: dict[str, Province] = field(default_factory=dict)
    # Every district of the whole config with its shard (netwatch.cluster.assign), and the
    # shard this inventory was cut to (None: the whole config).
    assignment: tuple[DistrictShard, ...] = ()
    shard: int | None = None

    def village_devices(self, code: str) -> list[Device]:
        return [self.devices[n] for n in self.villages[code].devices]

    def regency_of(self, district: str) -> Regency:
        """The regency of a district code (one made up from the code when none is declared)."""
        code = district[:5]
        found = self.regencies.get(code)
        if found is not None:
            return found
        name = self.regency_name if code == self.regency_code else ""
        return Regency(code, name)

    def region_labels(self, district: str) -> dict[str, str]:
        """regency and regency_name labels for alerts, when the config has several regencies
        (a one-regency config keeps its label sets, and so its alert identities, unchanged)."""
        if len(self.regencies) < 2:
            return {}
        regency = self.regency_of(district)
        return {"regency": regency.code, "regency_name": regency.name}

    def province_name(self, code: str) -> str:
        found = self.provinces.get(code[:2])
        return found.name if found is not None else ""

    def probe_carrier(self, code: str) -> str | None:
        """The device whose job probes a village's own services: its router, else its first."""
        names = [n for n in self.villages[code].devices if n in self.devices]
        routers = [n for n in names if self.devices[n].role is Role.ROUTER]
        first = routers or names
        return first[0] if first else None

    def services_of(self, name: str) -> tuple[ServiceProbe, ...]:
        """The service probes run with device `name`: its own, then its village's if it
        carries them."""
        device = self.devices[name]
        probes = device.services
        village = self.villages.get(device.village or "")
        if village is not None and village.services and self.probe_carrier(village.code) == name:
            probes = (*probes, *village.services)
        return probes


def _one_of(*choices: str):
    def check(value: str) -> None:
        if value not in choices:
            raise ValueError(f"{value!r} is not one of {', '.join(choices)}")

    return check


def _positive(value: float) -> None:
    if value <= 0:
        raise ValueError(f"must be positive, not {value}")


def _http_url(value: str) -> None:
    # Lazy: the config package imports this module.
    from netwatch.config.urls import check_url

    check_url(value)


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
    # Larger datagrams are dropped before decoding (a trap rarely passes one Ethernet frame).
    max_message_bytes: int = _bounded(8192, 484, 65535)
    # Trap-triggered polls of one device: one at once, then at most one per this interval.
    min_repoll_interval: float = _bounded(10.0, 0, DAY)


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
    # Device verdicts come from the echo stream: settings.ping.down_echoes / up_echoes.
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
    # Traces run in worker processes (alerting/trace_pool.py), at most this many at once.
    traceroute_workers: int = _bounded(2, 1, 64)
    traceroute_per_minute: int = _bounded(30, 1, 100_000)  # traces started; more are skipped
    # No new trace while the event loop ran this late (or an ICMP socket dropped) lately.
    traceroute_max_lag: float = _bounded(0.5, 0, 60, strict=True)
    tick: float = 1.0  # seconds between timer evaluations (re-notify, windows)
    maintenance: tuple[MaintenanceWindow, ...] = ()
    # Residents' complaints weighed against the measurements (alerting/correlation.py).
    complaints: ComplaintAlertSettings = field(default_factory=ComplaintAlertSettings)
