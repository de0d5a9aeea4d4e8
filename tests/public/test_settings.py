"""settings.public: defaults, office hours grammar, and errors at the offending file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from netwatch.config import load_inventory
from netwatch.core.public_settings import HoursRule, parse_hours
from tests.helpers.configs import load_errors

ROOT = """\
settings:
  public:
{public}
regency:
  code: "35.10"
  name: Banyuwangi
  districts:
    - code: "35.10.07"
      name: Gambiran
      villages:
        - code: "35.10.07.2001"
          name: Purwodadi
          devices:
            - {{name: pwd-router, role: router, address: 127.7.1.1}}
"""


def _load(tmp_path: Path, public: str):
    path = tmp_path / "netwatch.yaml"
    path.write_text(ROOT.format(public=public), encoding="utf-8")
    return path, load_inventory(path)


def _errors(tmp_path: Path, public: str) -> list[str]:
    path = tmp_path / "netwatch.yaml"
    path.write_text(ROOT.format(public=public), encoding="utf-8")
    return load_errors(path)


def test_defaults_keep_the_board_off_and_the_store_beside_the_config(tmp_path: Path) -> None:
    _, inv = _load(tmp_path, "    {}")
    s = inv.settings.public
    assert s.enabled is False
    assert s.listen == "127.0.0.1:9109"
    assert s.complaints_db == str(tmp_path / "netwatch-complaints.sqlite3")
    assert s.complaints.per_address == 5 and s.complaints.min_fill_seconds == 3.0


def test_a_full_section_loads(tmp_path: Path) -> None:
    _, inv = _load(
        tmp_path,
        "    enabled: true\n"
        "    listen: 0.0.0.0:8080\n"
        "    base_url: https://wifi.banyuwangikab.go.id/\n"
        "    complaints_db: /var/lib/netwatch/complaints.sqlite3\n"
        "    complaints: {per_address: 3, window: 30m, min_fill_seconds: 2s}\n"
        "    wifi_hours:\n"
        '      "35.10": 24h\n'
        '      "35.10.07": "mon-fri 07:00-16:00, sat 07:00-12:00"\n',
    )
    s = inv.settings.public
    assert s.enabled and s.listen == "0.0.0.0:8080"
    assert s.complaints_db == "/var/lib/netwatch/complaints.sqlite3"
    assert (s.complaints.per_address, s.complaints.window) == (3, 1800.0)
    assert s.wifi_hours["35.10.07"] == "mon-fri 07:00-16:00, sat 07:00-12:00"


def test_office_hours_grammar() -> None:
    week = frozenset(range(7))
    assert parse_hours("24h") == (HoursRule(week, 0, 1440),)
    assert parse_hours("07:00-21:00") == (HoursRule(week, 420, 1260),)
    assert parse_hours("mon-fri 07:00-16:00, sat 07:00-12:00") == (
        HoursRule(frozenset({0, 1, 2, 3, 4}), 420, 960),
        HoursRule(frozenset({5}), 420, 720),
    )
    assert parse_hours("mon,wed 08:00-12:00") == (HoursRule(frozenset({0, 2}), 480, 720),)
    assert parse_hours("fri-mon 08:00-24:00") == (HoursRule(frozenset({4, 5, 6, 0}), 480, 1440),)
    for bad in ("", "7-21", "mon-fry 07:00-16:00", "16:00-07:00", "25:00-26:00", "24h extra"):
        with pytest.raises(ValueError):
            parse_hours(bad)


def test_bad_values_are_reported_at_their_lines(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        "    listen: nowhere\n"  # line 3
        "    complaints: {per_address: 0}\n"  # line 4
        "    wifi_hours:\n"  # line 5
        '      "35.10.07": "sometimes"\n'  # line 6
        "    colour: red\n",  # line 7
    )
    file = str(tmp_path / "netwatch.yaml")
    text = "\n".join(errors)
    assert f"{file}:3: settings.public.listen: 'nowhere' is not host:port" in text
    assert f"{file}:4: settings.public.complaints.per_address: 0 must be >= 1" in text
    assert f"{file}:6: settings.public.wifi_hours.35.10.07: 'sometimes' is not office hours" in text
    assert f"{file}:7: settings.public: unknown key 'colour'" in text


def test_hours_for_a_code_outside_the_inventory_is_an_error_at_its_key(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        "    wifi_hours:\n"  # line 3
        '      "35.10.07.2001": 07:00-21:00\n'  # line 4: known village
        '      "35.10.08": 24h\n',  # line 5: no such district here
    )
    file = str(tmp_path / "netwatch.yaml")
    assert errors == [
        f"{file}:5: settings.public.wifi_hours.35.10.08: "
        "'35.10.08' is no regency, district or village of the inventory"
    ]
