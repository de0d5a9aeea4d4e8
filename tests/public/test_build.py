"""Pieces of the public view: planned maintenance ahead, office hours, causes in public words."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from netwatch.alerting.maintenance import Maintenance
from netwatch.core.model import MaintenanceWindow
from netwatch.core.public_settings import PublicSettings, hours_for
from netwatch.public.build import windows_ahead
from netwatch.public.html import hours_text
from netwatch.public.texts import public_cause
from netwatch.public.view import Hours

WIB = ZoneInfo("Asia/Jakarta")


def test_planned_windows_ahead_of_now() -> None:
    now = dt.datetime(2026, 12, 2, 12, 0, tzinfo=WIB)  # a Wednesday
    specs = [
        MaintenanceWindow("weekly", "23:00", "01:00", days=("sun",), districts=("35.10.07",)),
        MaintenanceWindow(
            "soon", "2026-12-05T22:00", "2026-12-06T02:00", villages=("35.10.07.2001",)
        ),
        MaintenanceWindow("far", "2027-01-20T22:00", "2027-01-21T02:00"),
        MaintenanceWindow("past", "2026-11-01T22:00", "2026-11-02T02:00"),
        MaintenanceWindow(
            "elsewhere", "2026-12-03T22:00", "2026-12-04T02:00", districts=("35.10.08",)
        ),
    ]
    windows = Maintenance(specs).windows
    got = windows_ahead(windows, "35.10.07.2001", "35.10.07", [], now.timestamp())

    def at(*args: int) -> float:
        return dt.datetime(*args, tzinfo=WIB).timestamp()

    assert got == (
        (at(2026, 12, 5, 22), at(2026, 12, 6, 2)),  # the one-off on Saturday night
        (at(2026, 12, 6, 23), at(2026, 12, 7, 1)),  # Sunday 23:00 past midnight
        (at(2026, 12, 13, 23), at(2026, 12, 14, 1)),  # and the Sunday after, within 14 days
    )
    # Inside a weekly window now: it is still shown until it ends.
    inside = dt.datetime(2026, 12, 7, 0, 30, tzinfo=WIB).timestamp()
    assert windows_ahead(windows, "35.10.07.2002", "35.10.07", [], inside)[0] == (
        at(2026, 12, 6, 23),
        at(2026, 12, 7, 1),
    )


def test_office_hours_by_the_most_specific_code_and_in_words() -> None:
    s = PublicSettings(
        wifi_hours={"35.10": "07:00-22:00", "35.10.07": "mon-fri 07:00-16:00, sat 07:00-12:00"}
    )
    rules = hours_for(s, "35.10.07.2001")
    assert [(sorted(r.days), r.start, r.end) for r in rules] == [
        ([0, 1, 2, 3, 4], 420, 960),
        ([5], 420, 720),
    ]
    assert hours_for(s, "35.10.08.2001")[0].start == 420
    assert hours_for(PublicSettings(), "35.10.08.2001")[0].end == 1440
    words = tuple(Hours(tuple(sorted(r.days)), r.start, r.end) for r in rules)
    assert hours_text(words, "id") == "Senin–Jumat 07:00–16:00; Sabtu 07:00–12:00"
    assert hours_text(words, "en") == "Monday–Friday 07:00–16:00; Saturday 07:00–12:00"
    assert hours_text((Hours(tuple(range(7)), 0, 1440),), "id") == "setiap hari, 24 jam"


def test_engine_causes_become_public_words_without_their_argument() -> None:
    assert public_cause("upstream_down:gambiran-pop") == "fiber"
    assert public_cause("router_down") == "equipment"
    assert public_cause("all_devices_down") == "power"
    assert public_cause("high_rtt") == "slow"
    assert public_cause("something_new:x") == "unknown"
    # The village's ONU offline (alerting/onu_join.py): the OLT's reason, never where it is.
    assert public_cause("onu_dying_gasp:olt-1 port 0/1/3 ONU 5") == "power"
    assert public_cause("onu_los:olt-1 port 0/1/3 ONU 5") == "fiber"
    assert public_cause("onu_deactivated:olt-1 ONU x") == "fiber"
    assert public_cause(None) == "unknown"
