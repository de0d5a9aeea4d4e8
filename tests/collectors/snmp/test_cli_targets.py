"""`netwatch snmp` TARGET and --port: checked as the inventory checks them, one line, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import snmprec
from tests.helpers.snmpd import Snmpd

UPTIME = "1.3.6.1.2.1.1.3.0"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "netwatch", "snmp", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


NOT_A_PORT = "is not a port number (1-65535)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["get", "127.0.0.1:0", UPTIME], f"bad target '127.0.0.1:0': 0 {NOT_A_PORT}"),
        (["get", "127.0.0.1:70000", UPTIME], f"bad target '127.0.0.1:70000': 70000 {NOT_A_PORT}"),
        (["walk", "127.0.0.1:", "1.3.6.1.2.1.1"], f"bad target '127.0.0.1:': '' {NOT_A_PORT}"),
        (["get", "127.0.0.1:snmp", UPTIME], f"bad target '127.0.0.1:snmp': 'snmp' {NOT_A_PORT}"),
        (["get", "[::1]:65536", UPTIME], f"bad target '[::1]:65536': 65536 {NOT_A_PORT}"),
        (["get", "127.0.0.300", UPTIME],
         "bad target '127.0.0.300': '127.0.0.300' is not an IP address or host name"),
        (["get", "127.0.0.1", "--port", "0", UPTIME], f"--port 0 {NOT_A_PORT}"),
        (["poll", "127.0.0.1", "--port", "70000"], f"--port 70000 {NOT_A_PORT}"),
        (["get", "127.0.0.1:1161", "--port", "161", UPTIME],
         "target '127.0.0.1:1161' says port 1161 but --port says 161"),
        (["poll", "127.0.0.1:1161", "--port", "1162"],
         "target '127.0.0.1:1161' says port 1161 but --port says 1162"),
    ],
)  # fmt: skip
def test_bad_target_or_port_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    out = cli(*args)
    assert out.returncode == 2
    assert out.stderr == f"netwatch snmp: {message}\n"  # one line, no traceback
    assert out.stdout == ""  # nothing was polled


def test_port_written_once_either_way_or_twice_alike(snmpd: Snmpd) -> None:
    ref = snmpd.run_tool("snmpget", "-v2c", "-c", "public", "-On", "-m", "",
                         f"{snmpd.host}:{snmpd.port}", "1.3.6.1.2.1.1.5.0")  # fmt: skip
    for args in (
        [f"{snmpd.host}:{snmpd.port}"],
        [snmpd.host, "--port", str(snmpd.port)],
        [f"{snmpd.host}:{snmpd.port}", "--port", str(snmpd.port)],
    ):
        out = cli("get", *args, "1.3.6.1.2.1.1.5.0")
        assert out.returncode == 0, out.stderr
        assert out.stdout == ref


def test_poll_text_shows_a_dash_for_missing_counters(recordings_agent, recordings_dir) -> None:
    """ios_2960x has stack ports with neither 64- nor 32-bit octet counters in its recording."""
    host, port = recordings_agent
    out = cli("poll", "-c", "ios_2960x", f"{host}:{port}")
    assert out.returncode == 0, out.stderr
    assert "None" not in out.stdout
    r = snmprec.read(recordings_dir / "ios_2960x.snmprec")
    hc_in = snmprec.column(r, "1.3.6.1.2.1.31.1.1.1.6")
    hc_out = snmprec.column(r, "1.3.6.1.2.1.31.1.1.1.10")
    in32 = snmprec.column(r, "1.3.6.1.2.1.2.2.1.10")
    rows = {}
    for line in out.stdout.splitlines():
        fields = line.split()
        if line.startswith("  ") and fields[0].isdigit():
            rows[int(fields[0])] = line
    without = [i for (i,) in snmprec.column(r, "1.3.6.1.2.1.2.2.1.2") if (i,) not in hc_in
               and (i,) not in in32]  # fmt: skip
    assert without, "the recording has interfaces without counters"
    for index in without:
        assert rows[index].endswith("in=- out=-"), rows[index]
    for (index,), rec in hc_in.items():
        assert f"in={rec.number} out={hc_out[(index,)].number} (64-bit)" in rows[index]
