"""Routing at enqueue time: a notification → the receivers that must get it (one row each)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from netwatch.alerting.types import Event, Notification
from netwatch.core.i18n import LANGUAGES
from netwatch.core.model import ContactList, NotificationRoute, NotificationSettings, SecretRef

# Alertmanager repeats and escalates by its own config; it only needs state changes.
_ALERTMANAGER_EVENTS = frozenset({Event.FIRING, Event.RESOLVED, Event.FLAPPING})


@dataclass(frozen=True, slots=True)
class Receiver:
    """One destination: notifier name + a JSON-able target (secrets only by reference)."""

    notifier: str
    target: dict[str, Any]

    @property
    def key(self) -> str:
        return json.dumps({"notifier": self.notifier, **self.target}, sort_keys=True)

    @property
    def label(self) -> str:
        """Short human name for logs (never a secret)."""
        t = self.target
        where = t.get("url") or t.get("chat_id") or ",".join(t.get("to", ())) or "?"
        return f"{self.notifier}:{where}"


def _ref(ref: SecretRef | None) -> dict[str, str] | None:
    if ref is None:
        return None
    return {k: v for k, v in (("env", ref.env), ("file", ref.file)) if v is not None}


def expand(contacts: ContactList, event: Event) -> list[Receiver]:
    out: list[Receiver] = []
    if event in _ALERTMANAGER_EVENTS:
        out += [Receiver("alertmanager", {"url": url.rstrip("/")}) for url in contacts.alertmanager]
    out += [Receiver("webhook", {"url": w.url, "secret": _ref(w.secret)}) for w in contacts.webhook]
    for tg in contacts.telegram:
        for chat in tg.chat_ids:
            target = {"base_url": tg.base_url.rstrip("/"), "chat_id": str(chat)}
            out.append(Receiver("telegram", {**target, "token": _ref(tg.token)}))
    for em in contacts.email:
        target = {
            "to": list(em.to),
            "host": em.host,
            "port": em.port,
            "starttls": em.starttls,
            "tls": em.tls,
            "username": em.username,
            "password": _ref(em.password),
            "sender": em.sender,
            "ca_file": em.ca_file,
        }
        out.append(Receiver("email", target))
    return out


def _matches(route: NotificationRoute, n: Notification) -> bool:
    labels = n.alert.labels
    if route.districts and labels.get("district") not in route.districts:
        return False
    return not (route.severities and labels.get("severity") not in route.severities)


def route(n: Notification, settings: NotificationSettings) -> list[Receiver]:
    """Receivers for n: routes in order, first match wins unless continue_routing."""
    lists = {c.name: c for c in settings.contacts}
    escalate = n.event is Event.ESCALATION or n.escalation_level >= 1
    names: list[str] = []
    for r in settings.routes:
        if not _matches(r, n):
            continue
        names.append(r.escalation if escalate and r.escalation else r.contacts)
        if not r.continue_routing:
            break
    if not names and settings.default_contacts:
        names.append(settings.default_contacts)
    seen: set[str] = set()
    out: list[Receiver] = []
    for name in names:
        contacts = lists.get(name)
        if contacts is None:  # validated at load; a reload race must not lose the rest
            continue
        for rcv in expand(contacts, n.event):
            if rcv.key not in seen:
                seen.add(rcv.key)
                out.append(rcv)
    return out


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL: {url!r}"
    return None


def _contact_problems(i: int, c: ContactList) -> list[str]:
    where = f"notifications.contacts[{i}] ({c.name})"
    urls = [*c.alertmanager, *(w.url for w in c.webhook), *(t.base_url for t in c.telegram)]
    problems = [f"{where}: {p}" for p in map(_url_problem, urls) if p]
    problems += [f"{where}: telegram without chat_ids" for t in c.telegram if not t.chat_ids]
    problems += [f"{where}: email without recipients" for e in c.email if not e.to]
    return problems


def check(settings: NotificationSettings) -> list[str]:
    """Config problems, each naming its key: unknown lists, severities, languages, bad URLs."""
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
        problems += _contact_problems(i, c)
    for i, r in enumerate(settings.routes):
        for name in (r.contacts, r.escalation):
            if name is not None and name not in names:
                problems.append(f"notifications.routes[{i}]: unknown contact list {name!r}")
        for sev in r.severities:
            if sev not in ("critical", "warning"):
                problems.append(f"notifications.routes[{i}]: unknown severity {sev!r}")
    if settings.default_contacts and settings.default_contacts not in names:
        problems.append(
            f"notifications.default_contacts: unknown contact list {settings.default_contacts!r}"
        )
    return problems
