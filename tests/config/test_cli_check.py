"""`netwatch config check` as a user runs it: a real process, its exit code and output."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.helpers.configs import BASE, line_of, write


def check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "netwatch", "config", "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_default_config_passes():
    res = check()
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().endswith(
        "OK: 25 districts, 217 villages (189 desa, 28 kelurahan), 487 devices, 1 SNMP credential(s)"
    )


def test_bad_config_exits_1_with_every_error(tmp_path):
    text = BASE.replace("address: 127.1.1.2", "address: 10.0.0.300").replace(
        "lat: -8.498369", "lat: 91"
    )
    cfg = write(tmp_path, text)
    res = check(str(cfg))
    assert res.returncode == 1
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert lines == [
        f"{cfg}:{line_of(text, 'lat: 91')}: regency.districts[0].villages[0].lat: "
        "91 is out of range (-90..90)",
        f"{cfg}:{line_of(text, '10.0.0.300')}: "
        "regency.districts[0].villages[0].devices[1].address: "
        "'10.0.0.300' is not an IP address or host name",
        f"{cfg}: 2 errors",
    ]


def test_missing_file_exits_1(tmp_path):
    res = check(str(tmp_path / "absent.yaml"))
    assert res.returncode == 1
    assert "absent.yaml: cannot read" in res.stderr


def test_secrets_flag_reads_every_reference(tmp_path):
    text = BASE.replace(
        "      community: {env: NETWATCH_SNMP_COMMUNITY}",
        "      community: {env: NETWATCH_TEST_UNSET_VARIABLE}\n"
        "    from-file:\n"
        "      version: 2c\n"
        f"      community: {{file: {tmp_path / 'community'}}}",
    )
    cfg = write(tmp_path, text)
    env = {k: v for k, v in os.environ.items() if k != "NETWATCH_TEST_UNSET_VARIABLE"}
    res = subprocess.run(
        [sys.executable, "-m", "netwatch", "config", "check", "--secrets", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        f"{cfg}:{line_of(text, 'demo-v2:') + 1}: credentials.snmp.demo-v2.community: "
        "environment variable NETWATCH_TEST_UNSET_VARIABLE is not set",
        f"{cfg}:{line_of(text, 'from-file:') + 1}: credentials.snmp.from-file.community: "
        f"cannot read {tmp_path / 'community'}: No such file or directory",
        f"{cfg}: 2 unreadable secret(s)",
    ]
    (tmp_path / "community").write_text("s3cret\n")
    env["NETWATCH_TEST_UNSET_VARIABLE"] = "x"
    res = subprocess.run(
        [sys.executable, "-m", "netwatch", "config", "check", "--secrets", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert "s3cret" not in res.stdout + res.stderr
