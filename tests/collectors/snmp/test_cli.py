"""`netwatch snmp get|walk` output against net-snmp's snmpwalk/snmpget -On."""

from __future__ import annotations

import json

import pytest

from netwatch.cli import main
from tests.helpers.snmpd import Snmpd

SYSTEM = "1.3.6.1.2.1.1"
UPTIME = ".1.3.6.1.2.1.1.3.0 ="


def stable(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith(UPTIME)]


def test_walk_prints_like_snmpwalk(snmpd: Snmpd, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snmp", "walk", f"{snmpd.host}:{snmpd.port}", SYSTEM]) == 0
    ours = capsys.readouterr().out
    ref = snmpd.run_tool("snmpwalk", "-v2c", "-c", "public", "-On", "-m", "",
                         f"{snmpd.host}:{snmpd.port}", SYSTEM)  # fmt: skip
    assert len(stable(ours)) > 10
    assert stable(ours) == stable(ref)
    assert any(line.startswith(UPTIME + " Timeticks: (") for line in ours.splitlines())


def test_v3_get_with_keys_from_env(
    snmpd: Snmpd, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.collectors.snmp.conftest import AUTH_KEY, PRIV_KEY

    monkeypatch.setenv("NW_AUTH", AUTH_KEY)
    monkeypatch.setenv("NW_PRIV", PRIV_KEY)
    args = ["snmp", "get", snmpd.host, "--port", str(snmpd.port), "--version", "3",
            "--v3-user", "priv-AES", "--auth-proto", "sha256", "--auth-key-env", "NW_AUTH",
            "--priv-proto", "aes128", "--priv-key-env", "NW_PRIV", "--json",
            "1.3.6.1.2.1.1.5.0"]  # fmt: skip
    assert main(args) == 0
    ours = json.loads(capsys.readouterr().out)
    ref = snmpd.run_tool("snmpget", "-v2c", "-c", "public", "-Oqv", "-m", "",
                         f"{snmpd.host}:{snmpd.port}", "1.3.6.1.2.1.1.5.0")  # fmt: skip
    assert ours == [{"oid": ".1.3.6.1.2.1.1.5.0", "type": "octet_string",
                     "value": ref.strip().strip('"')}]  # fmt: skip


def test_timeout_is_a_clear_error(snmpd: Snmpd, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["snmp", "get", f"{snmpd.host}:{snmpd.port}", "-c", "wrong", "-t", "0.1", "-r", "0",
            "1.3.6.1.2.1.1.3.0"]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("netwatch snmp: timeout: ") and snmpd.host in err


def test_bad_oid_is_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["snmp", "get", "127.0.0.1", "1.3.six"])
    assert exc.value.code == 2  # a usage error, as argparse's
    assert capsys.readouterr().err == "netwatch snmp: '1.3.six' is not a numeric OID\n"
