"""Every (alert kind, cause, event, language) rendered and read: own words, no outage in a
warning, nothing left unfilled."""

from __future__ import annotations

import dataclasses
import itertools
import re

import pytest

from netwatch.alerting.kinds import (
    CAUSES_BY_KIND,
    UPSTREAM_DEGRADED,
    UPSTREAM_DOWN,
    VILLAGE_DEGRADED,
    VILLAGE_DOWN,
)
from netwatch.alerting.messages import render
from netwatch.alerting.texts import CAUSES, KINDS
from netwatch.alerting.types import Alert, Event, Notification
from netwatch.core.i18n import LANGUAGES
from tests.alerting.factories import STARTS

SEVERITY = {
    VILLAGE_DOWN: "critical",
    VILLAGE_DEGRADED: "warning",
    UPSTREAM_DOWN: "critical",
    UPSTREAM_DEGRADED: "warning",
}
OUTAGE = re.compile(r"\b(down|mati|padam|putus|terputus)\b", re.IGNORECASE)
# Words in each language that only that language uses here (a text in the wrong language).
ONLY = {"id": re.compile(r"\b(since|village|lasted)\b"), "en": re.compile(r"\b(sejak|desa)\b")}


def alert(kind: str, cause: str) -> Alert:
    labels = {"alertname": kind, "severity": SEVERITY[kind]}
    if kind.startswith("Village"):
        labels |= {
            "village": "35.10.01.2001",
            "village_name": "Sarongan",
            "district": "35.10.01",
            "district_name": "Pesanggaran",
        }
        affected: tuple[str, ...] = ()
        devices: tuple[str, ...] = ("sarongan-router", "sarongan-ap1")
    else:
        labels |= {"device": "pesanggaran-pop", "district": "35.10.01"}
        labels["district_name"] = "Pesanggaran"
        affected = ("35.10.01.2001", "35.10.01.2002")
        devices = ("pesanggaran-pop",)
    arg = {"upstream_down": ":pesanggaran-pop", "router_down": ":sarongan-router"}
    arg |= {c: ":olt-1 port 0/1/3 ONU 5" for c in CAUSES_BY_KIND[VILLAGE_DOWN] if "onu" in c}
    return Alert(
        labels=labels,
        starts_at=STARTS,
        cause=cause + arg.get(cause, ""),
        down_devices=devices,
        affected_villages=affected,
    )


CASES = [
    (kind, cause, event, lang)
    for kind, causes in CAUSES_BY_KIND.items()
    for cause in causes
    for event in Event
    for lang in LANGUAGES
]


def test_every_kind_and_cause_has_words_in_every_language():
    assert set(CAUSES_BY_KIND) == set(KINDS) == set(SEVERITY)
    for kind, causes in CAUSES_BY_KIND.items():
        assert set(KINDS[kind]) == set(LANGUAGES), kind
        for cause in causes:
            assert set(CAUSES[cause]) == set(LANGUAGES), cause


@pytest.mark.parametrize(("kind", "cause", "event", "lang"), CASES)
def test_render(kind: str, cause: str, event: Event, lang: str):
    a = alert(kind, cause)
    if event is Event.RESOLVED:
        a = dataclasses.replace(a, ends_at=STARTS + 720)
    extra = {"changes": "4"}
    causes = CAUSES_BY_KIND[kind]
    before = causes[(causes.index(cause) + 1) % len(causes)]  # another cause of this kind
    if event is Event.UPDATE:
        extra["previous_cause"] = before
    if event is Event.RESOLVED:
        extra["flapping"] = "true"
    n = Notification(id="x", event=event, alert=a, created_at=STARTS + 3600, extra=extra)
    names = {"35.10.01.2001": "Sarongan", "35.10.01.2002": "Kandangan"}
    msg = render(n, lang, village_names=names)
    words = " ".join((msg.subject, *msg.lines))
    # Filled in: no placeholder, no unknown value, no stray "None".
    assert not re.search(r"[{}]|\?|\bNone\b", words), words
    assert msg.subject and msg.lines
    assert not ONLY[lang].search(words), words
    # The kind's own target is named in the subject.
    target = "Sarongan" if kind.startswith("Village") else "pesanggaran-pop"
    assert target in msg.subject, msg.subject
    if SEVERITY[kind] == "warning":
        assert not OUTAGE.search(words), words  # a warning never reads as an outage
    if event is not Event.RESOLVED:
        cause_words = CAUSES[cause][lang]
        assert cause_words in words, (cause_words, words)
    if event is Event.UPDATE:
        assert CAUSES[before][lang] in msg.lines[0]
    if event is Event.RESOLVED:
        assert "720" not in words and ("12 menit" in words or "12 minutes" in words)
        assert any("4" in line for line in msg.lines[1:])  # marked as flapping, with the count
    if event in (Event.REMINDER, Event.ESCALATION):
        assert "1 jam" in words or "1 hour" in words


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_kind_has_its_own_title(lang: str):
    titles = {}
    for kind in CAUSES_BY_KIND:
        n = Notification("x", Event.FIRING, alert(kind, CAUSES_BY_KIND[kind][0]), STARTS)
        titles[kind] = render(n, lang).subject.split("]")[0]
    assert len(set(titles.values())) == len(titles), titles


@pytest.mark.parametrize(("lang", "kind"), list(itertools.product(LANGUAGES, KINDS)))
def test_each_event_has_its_own_subject(lang: str, kind: str):
    subjects = set()
    for event in Event:
        a = alert(kind, CAUSES_BY_KIND[kind][0])
        subjects.add(render(Notification("x", event, a, STARTS + 60), lang).subject)
    assert len(subjects) == len(Event), subjects
