"""Routing by district and severity to contact lists (first match wins, continue, escalation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netwatch.alerting import notifiers
from netwatch.alerting.notifiers.alertmanager import AlertmanagerTarget
from netwatch.alerting.notifiers.telegram import TelegramTarget
from netwatch.alerting.notifiers.webhook import WebhookTarget
from netwatch.alerting.routing import route
from netwatch.alerting.types import Event
from netwatch.core.model import SecretRef
from netwatch.core.notifications import (
    ContactList,
    NotificationRoute,
    NotificationSettings,
    check,
)
from tests.alerting.factories import notification, village_alert

TOKEN = SecretRef(env="TG")
LISTS = (
    ContactList("pesanggaran", (TelegramTarget(("-1", "-2"), TOKEN),)),
    ContactList(
        "noc",
        (AlertmanagerTarget("http://127.0.0.1:9093/"), WebhookTarget("http://127.0.0.1:1/h")),
    ),
    ContactList("kadis", (TelegramTarget(("-9",), TOKEN),)),
)
SETTINGS = NotificationSettings(
    contacts=LISTS,
    routes=(
        NotificationRoute("noc", continue_routing=True),
        NotificationRoute(
            "pesanggaran", districts=("35.10.01",), severities=("critical",), escalation="kadis"
        ),
        NotificationRoute("kadis", severities=("critical",)),
    ),
)


def where(receivers) -> list[str]:
    return [r.label for r in receivers]


def test_first_match_after_continue() -> None:
    got = where(route(notification("a"), SETTINGS))
    assert got == [
        "alertmanager:http://127.0.0.1:9093",
        "webhook:http://127.0.0.1:1/h",
        "telegram:-1",
        "telegram:-2",
    ]


def test_other_district_falls_through() -> None:
    alert = village_alert(code="35.10.02.2001")
    got = where(route(notification("a", alert=alert), SETTINGS))
    assert got[-1] == "telegram:-9"


def test_warning_matches_only_catch_all() -> None:
    alert = village_alert(severity="warning")
    assert where(route(notification("a", alert=alert), SETTINGS)) == [
        "alertmanager:http://127.0.0.1:9093",
        "webhook:http://127.0.0.1:1/h",
    ]


def test_escalation_goes_to_second_list_and_skips_alertmanager() -> None:
    got = where(route(notification("a", Event.ESCALATION, escalation_level=1), SETTINGS))
    assert got == ["webhook:http://127.0.0.1:1/h", "telegram:-9"]
    reminder = where(route(notification("a", Event.REMINDER), SETTINGS))
    assert "alertmanager:http://127.0.0.1:9093" not in reminder


def test_default_contacts_when_nothing_matches() -> None:
    s = NotificationSettings(
        contacts=LISTS,
        routes=(NotificationRoute("kadis", districts=("35.10.99",)),),
        default_contacts="pesanggaran",
    )
    assert where(route(notification("a"), s)) == ["telegram:-1", "telegram:-2"]


def test_check_names_bad_references() -> None:
    with pytest.raises(ValueError) as err:
        NotificationSettings(
            contacts=LISTS,
            routes=(NotificationRoute("nobody", severities=("fatal",)),),
            default_contacts="ghost",
        )
    assert str(err.value).split("; ") == [
        "notifications.routes[0]: unknown contact list 'nobody'",
        "notifications.routes[0]: unknown severity 'fatal'",
        "notifications.default_contacts: unknown contact list 'ghost'",
    ]
    assert check(SETTINGS) == []


def test_check_names_bad_values() -> None:
    with pytest.raises(ValueError) as err:
        NotificationSettings(
            language="jv",
            timezone="Asia/Banyuwangi",
            contacts=(
                ContactList("a", (AlertmanagerTarget("127.0.0.1:9093"),)),
                ContactList("a", (TelegramTarget((), TOKEN),)),
            ),
        )
    assert str(err.value).split("; ") == [
        "notifications.language: 'jv' is not one of id, en",
        "notifications.timezone: unknown time zone 'Asia/Banyuwangi'",
        "notifications.contacts: duplicate contact list names",
        "notifications.contacts[0] (a): not an http(s) URL: '127.0.0.1:9093'",
        "notifications.contacts[1] (a): telegram without chat_ids",
    ]


def test_every_notifier_module_is_a_plugin() -> None:
    """A notifier is one module: the package finds it and its target by the module's name."""
    folder = Path(notifiers.__file__).parent
    modules = sorted(p.stem for p in folder.glob("*.py") if p.stem not in ("__init__", "base"))
    found = notifiers.plugins()
    assert sorted(found) == modules
    for name, plugin in found.items():
        assert plugin.target.notifier == name
        assert plugin.notifier().name == name
