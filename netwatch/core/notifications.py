"""settings.notifications: contact lists of notifier targets, routes, delivery.

A target's class belongs to its notifier (netwatch/alerting/notifiers/<name>.py); the core only
knows the NotifierTarget shape, so nothing here imports alerting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, NamedTuple, Protocol, TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from netwatch.core.i18n import LANGUAGES

JSONValue: TypeAlias = str | int | float | bool | list["JSONValue"] | dict[str, "JSONValue"] | None
JSONObject: TypeAlias = dict[str, JSONValue]

SEVERITIES = ("critical", "warning")


class Destination(NamedTuple):
    """One receiver of a target: the JSON its notifier sends with, and a name for logs."""

    data: JSONObject  # stored with each outbox row; secrets only by reference
    where: str  # never a secret: a URL, a chat id, mail addresses


class NotifierTarget(Protocol):
    """One entry of a contact list, e.g. `webhook: [{url: ...}]` (the class owns its checks)."""

    notifier: ClassVar[str]  # the contact-list key and the notifier's name
    # Events this kind of receiver gets; None = every event.
    events: ClassVar[frozenset[str] | None]
    # The field a bare string fills in the config (`alertmanager: [http://am:9093]`), if any.
    shorthand: ClassVar[str | None]

    def problems(self) -> list[str]:
        """Config problems, each a short sentence (the loader adds file, line and key)."""
        ...

    def destinations(self) -> list[Destination]:
        """The receivers this target stands for (one per Telegram chat, say)."""
        ...


def _link_base(value: str) -> None:
    if value:
        # Lazy: the config package imports this module.
        from netwatch.config.urls import check_url

        check_url(value)


@dataclass(frozen=True, slots=True)
class ContactList:
    name: str
    targets: tuple[NotifierTarget, ...] = ()  # in config order

    def of(self, notifier: str) -> tuple[NotifierTarget, ...]:
        """The targets of one notifier."""
        return tuple(t for t in self.targets if t.notifier == notifier)


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
    # e.g. https://noc.example/villages/ (code appended); checked like every URL in the config
    link_base_url: str = field(default="", metadata={"check": _link_base})
    contacts: tuple[ContactList, ...] = ()
    routes: tuple[NotificationRoute, ...] = ()
    default_contacts: str | None = None  # contact list when no route matches
    alertmanager_repost_interval: float = 60.0  # keep below Alertmanager's resolve_timeout
    delivery: DeliverySettings = field(default_factory=DeliverySettings)

    def __post_init__(self) -> None:
        # A ValueError here is reported by the config loader at the `notifications` line.
        problems = check(self)
        if problems:
            raise ValueError("; ".join(problems))


def check(settings: NotificationSettings) -> list[str]:
    """Config problems, each naming its key: unknown lists, severities, languages, targets."""
    names = {c.name for c in settings.contacts}
    problems = []
    if settings.language is not None and settings.language not in LANGUAGES:
        problems.append(f"notifications.language: {settings.language!r} is not one of id, en")
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"notifications.timezone: unknown time zone {settings.timezone!r}")
    if len(names) != len(settings.contacts):
        problems.append("notifications.contacts: duplicate contact list names")
    for i, c in enumerate(settings.contacts):
        where = f"notifications.contacts[{i}] ({c.name})"
        problems += [f"{where}: {p}" for t in c.targets for p in t.problems()]
    for i, r in enumerate(settings.routes):
        for name in (r.contacts, r.escalation):
            if name is not None and name not in names:
                problems.append(f"notifications.routes[{i}]: unknown contact list {name!r}")
        for sev in r.severities:
            if sev not in SEVERITIES:
                problems.append(f"notifications.routes[{i}]: unknown severity {sev!r}")
    if settings.default_contacts and settings.default_contacts not in names:
        problems.append(
            f"notifications.default_contacts: unknown contact list {settings.default_contacts!r}"
        )
    return problems
