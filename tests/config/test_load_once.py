"""What the load now works out once instead of per value (issue 10: a 50,000-device load):
an address's canonical form (checked as the device is read, reused by the duplicate check),
and an enum's members by text."""

from __future__ import annotations

from pathlib import Path

from netwatch.config import load_inventory
from netwatch.core.model import Role, VillageKind
from tests.helpers.configs import BASE, line_of, load_errors, write

AP = "- {name: sarongan-ap-1, role: ap, address: 127.1.1.2, parent: sarongan-router}"


def test_the_same_address_written_two_ways_is_a_duplicate(tmp_path: Path) -> None:
    # RFC 5952 section 2: fe80::1 and FE80:0:0::1 are one IPv6 address in two spellings.
    text = BASE.replace("address: 127.1.1.1", "address: fe80::1").replace(
        "address: 127.1.1.2", "address: 'FE80:0:0::1'"
    )
    cfg = write(tmp_path, text)
    errors = load_errors(cfg)
    line = line_of(text, "FE80:0:0::1")
    first = line_of(text, "fe80::1")
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"{cfg}:{line}: ")
    assert errors[0].endswith(f"duplicate address 'FE80:0:0::1' (first at {cfg}:{first})")


def test_a_bad_address_is_reported_once_and_skipped_by_the_duplicate_check(
    tmp_path: Path,
) -> None:
    text = BASE.replace("address: 127.1.1.1", "address: 127.1.1.300").replace(
        "address: 127.1.1.2", "address: 127.1.1.300"
    )
    cfg = write(tmp_path, text)
    errors = load_errors(cfg)
    assert len(errors) == 2, errors  # each device's own error, no duplicate on top
    assert all("'127.1.1.300' is not an IP address or host name" in e for e in errors)


def test_roles_and_kinds_are_the_enum_members(tmp_path: Path) -> None:
    text = BASE.replace(AP, AP.replace("role: ap", "role: olt"))
    inv = load_inventory(write(tmp_path, text))
    assert inv.devices["sarongan-ap-1"].role is Role.OLT
    assert inv.devices["pop-1"].role is Role.ROUTER
    assert inv.villages["35.10.01.2001"].kind is VillageKind.DESA
