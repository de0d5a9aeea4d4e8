"""Maintenance windows: WIB recurring windows across midnight, one-off windows, bad input."""

from __future__ import annotations

import datetime as dt

import pytest

from netwatch.alerting.maintenance import Maintenance, MaintenanceError, parse
from netwatch.core.model import Device, MaintenanceWindow, Role, Source

UTC = dt.UTC


def ts(*args: int) -> float:
    """A UTC timestamp; WIB is UTC+7 with no DST (fixed since 1964)."""
    return dt.datetime(*args, tzinfo=UTC).timestamp()


def test_weekly_window_crossing_midnight_in_wib():
    # Saturdays 23:00 → 02:00 WIB = Saturday 16:00 → 19:00 UTC.
    w = parse(MaintenanceWindow("night", start="23:00", end="02:00", days=("sat",)))
    # 28 Nov 2026 is a Saturday.
    assert not w.active(ts(2026, 11, 28, 15, 59))  # 22:59 WIB Sat
    assert w.active(ts(2026, 11, 28, 16, 0))  # 23:00 WIB Sat
    assert w.active(ts(2026, 11, 28, 18, 59))  # 01:59 WIB Sun (the window's morning part)
    assert not w.active(ts(2026, 11, 28, 19, 0))  # 02:00 WIB Sun
    assert not w.active(ts(2026, 11, 27, 16, 30))  # 23:30 WIB Fri


def test_one_off_window_and_scope():
    m = Maintenance(
        [
            MaintenanceWindow(
                "olt swap",
                start="2026-12-01T22:00",
                end="2026-12-02T01:00",
                districts=("35.10.07",),
                tags=("olt-a",),
            )
        ]
    )
    inside = ts(2026, 12, 1, 15, 30)  # 22:30 WIB
    tagged = Device("olt-9", Role.OLT, "127.0.0.9", "35.10.99", tags=("olt-a",))
    other = Device("rtr", Role.ROUTER, "127.0.0.8", "35.10.99", "35.10.99.2001")
    assert m.active(inside, "35.10.07.2001", "35.10.07", []) == "olt swap"
    assert m.active(inside, None, "35.10.99", [tagged]) == "olt swap"
    assert m.active(inside, "35.10.99.2001", "35.10.99", [other]) is None
    assert m.active(ts(2026, 12, 1, 18, 0), "35.10.07.2001", "35.10.07", []) is None


@pytest.mark.parametrize(
    ("window", "needle"),
    [
        (MaintenanceWindow("a", start="25:00", end="02:00", days=("mon",)), "not HH:MM"),
        (MaintenanceWindow("b", start="01:00", end="02:00", days=("funday",)), "unknown day"),
        (MaintenanceWindow("c", start="2026-12-02", end="2026-12-01"), "not after start"),
        (MaintenanceWindow("d", start="soon", end="later"), "ISO date-times"),
        (
            MaintenanceWindow("e", start="01:00", end="02:00", days=("mon",), timezone="Mars/Base"),
            "unknown timezone",
        ),
    ],
)
def test_bad_windows_name_themselves(window, needle):
    window = MaintenanceWindow(**{**_fields(window), "source": Source("alerting.yaml", 12)})
    with pytest.raises(MaintenanceError) as exc:
        parse(window)
    assert needle in str(exc.value)
    assert f"'{window.name}'" in str(exc.value) and "alerting.yaml:12" in str(exc.value)


def _fields(w: MaintenanceWindow) -> dict:
    return {k: getattr(w, k) for k in w.__slots__}
