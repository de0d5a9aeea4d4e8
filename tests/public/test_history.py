"""The view's uptime, 90-day bar and incidents, from an alert store written as the engine does.

Expected figures are worked out by hand from the rows the test writes.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from netwatch.alerting import store
from netwatch.public import api
from netwatch.public.html import Ctx
from netwatch.public.village_page import village_page
from tests.public.helpers import build_view, default_inventory, facts

WIB = ZoneInfo("Asia/Jakarta")
VILLAGE = "35.10.07.2001"  # Purwodadi, Gambiran
OTHER = "35.10.07.2002"


def _at(days_ago: int, hour: int, now: dt.datetime) -> float:
    day = now.date() - dt.timedelta(days=days_ago)
    return dt.datetime.combine(day, dt.time(hour), WIB).timestamp()


def _seed(path: Path, now: dt.datetime) -> dict[str, float]:
    """Purwodadi: up for 100 days, down 3 days ago 10:00-12:00, up since; a fibre cut."""
    conn = store.connect(str(path))
    t = {
        "first": _at(100, 0, now),
        "down": _at(3, 10, now),
        "back": _at(3, 12, now),
    }
    rows = [
        (VILLAGE, "up", t["first"], t["down"]),
        (VILLAGE, "down", t["down"], t["back"]),
        (VILLAGE, "up", t["back"], None),
        (OTHER, "up", t["first"], None),
    ]
    conn.executemany(
        "INSERT INTO village_states(village, state, since, until) VALUES (?, ?, ?, ?)", rows
    )
    labels = {
        "alertname": "VillageWifiDown",
        "severity": "critical",
        "village": VILLAGE,
        "village_name": "Purwodadi",
        "district": "35.10.07",
        "district_name": "Gambiran",
    }
    conn.execute(
        "INSERT INTO alerts(fingerprint, alertname, labels, state, starts_at, ends_at, cause,"
        " down_devices) VALUES ('f1', 'VillageWifiDown', ?, 'resolved', ?, ?,"
        " 'upstream_down:gambiran-pop', '[\"purwodadi-07-2001-router\"]')",
        (json.dumps(labels), t["down"], t["back"]),
    )
    conn.close()
    return t


def test_uptime_bar_and_incident_from_the_alert_store(tmp_path: Path) -> None:
    now_dt = dt.datetime.now(WIB).replace(hour=18, minute=0, second=0, microsecond=0)
    now = now_dt.timestamp()
    db = tmp_path / "alerts.sqlite3"
    t = _seed(db, now_dt)
    inv = default_inventory()
    view = build_view(inv, facts(inv), now, alert_db=str(db))
    v = view.villages[VILLAGE]

    assert view.history is True
    assert len(v.days) == 90
    assert v.days[-1].date == now_dt.date().isoformat()
    outage_day = v.days[-4]
    assert outage_day.date == (now_dt.date() - dt.timedelta(days=3)).isoformat()
    assert outage_day.outage_seconds == 7200
    assert outage_day.uptime == round(1 - 7200 / 86400, 4)  # 0.9167
    assert all(d.uptime == 1.0 for d in v.days if d is not outage_day)
    today = now - _at(0, 0, now_dt)  # 18 hours observed today
    assert v.uptime[0] == 1.0
    assert v.uptime[1] == round(1 - 7200 / (6 * 86400 + today), 4)
    assert v.uptime[2] == round(1 - 7200 / (29 * 86400 + today), 4)
    assert v.uptime[3] == round(1 - 7200 / (89 * 86400 + today), 4)
    assert v.since == t["back"]
    # The incident, its cause in plain words; the parent's name stays internal.
    assert len(v.incidents) == 1
    i = v.incidents[0]
    assert (i.start, i.end, i.kind, i.cause) == (t["down"], t["back"], "down", "fiber")
    page = village_page(Ctx(view, "id"), VILLAGE)
    assert "gangguan jaringan fiber" in page
    assert "91,67%" in page  # the outage day's cell and its details
    assert "gambiran-pop" not in page and "router" not in page
    en = village_page(Ctx(view, "en"), VILLAGE)
    assert "fibre network failure" in en and "91.67%" in en
    hist = api.village_history(view, v)
    assert hist["incidents"][0]["cause"]["key"] == "fiber"
    assert hist["days"][-4] == {
        "date": outage_day.date,
        "uptime": 0.9167,
        "outage_seconds": 7200,
    }
    # A village with no recorded state has no data, not 100%.
    unseen = view.villages["35.10.07.2007"]
    assert unseen.uptime == (None, None, None, None)
    assert all(d.uptime is None for d in unseen.days)


def test_closed_days_are_computed_once(tmp_path: Path) -> None:
    now_dt = dt.datetime.now(WIB).replace(hour=18, minute=0, second=0, microsecond=0)
    db = tmp_path / "alerts.sqlite3"
    _seed(db, now_dt)
    inv = default_inventory()
    from netwatch.public.build import Builder
    from netwatch.public.history import History

    history = History(str(db), "Asia/Jakarta")
    builder = Builder(history, None)
    first = builder.build(inv, facts(inv), now_dt.timestamp())
    again = builder.build(inv, facts(inv), now_dt.timestamp() + 30)
    # Nothing changed for the public: the village keeps its revision (pages stay cached).
    assert again.villages[VILLAGE] is first.villages[VILLAGE]
    assert again.villages[VILLAGE].rev == first.villages[VILLAGE].rev
    assert len(history._closed_days) == 89
