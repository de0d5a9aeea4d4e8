"""What the load now works out once instead of per value (issue 10: a 50,000-device load):
an address's canonical form (checked as the device is read, reused by the duplicate check),
an enum's members by text, and the loader child's niceness."""

from __future__ import annotations

import os
import subprocess
import sys
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


def test_the_loader_child_runs_nice(tmp_path: Path) -> None:
    # The child lowers its own priority before it reads (isolated._limits); os.nice(0) reads
    # the niceness, 10 above the test process's own (the kernel caps it at 19).
    code = "from netwatch.config import isolated; isolated._limits(); import os; print(os.nice(0))"
    env = {k: v for k, v in os.environ.items() if k != "NETWATCH_CONFIG_LOADER_NICE"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert int(out.stdout) == min(os.nice(0) + 10, 19), out.stderr
    env["NETWATCH_CONFIG_LOADER_NICE"] = "0"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert int(out.stdout) == os.nice(0), out.stderr
