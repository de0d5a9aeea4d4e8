"""Defect 18: "too many open files" while polling was counted as reason="decode"."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers.snmpd import running_snmpd

# A real process at its real open-files limit polls a real snmpd.
CHILD = r"""
import asyncio, json, os, resource, sys
from netwatch.collectors.snmp.collector import probe_target
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.types import Target

async def main():
    target = Target("127.0.0.1", int(sys.argv[1]), community="public", timeout=1)
    engine = SnmpEngine()
    ok = await probe_target("before", target, engine)
    await engine.close()
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    held = []
    try:
        while True:
            held.append(os.open("/dev/null", os.O_RDONLY))
    except OSError:
        pass
    engine = SnmpEngine()
    full = await probe_target("at-limit", target, engine)
    print(json.dumps([ok.error, full.error, full.message]))

asyncio.run(main())
"""


def test_out_of_file_descriptors_is_a_socket_error_not_decode() -> None:
    with running_snmpd() as agent:
        r = subprocess.run(
            [sys.executable, "-c", CHILD, str(agent.port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 0, r.stderr
    before, at_limit, message = json.loads(r.stdout)
    assert before is None
    assert at_limit == "socket", message
    assert "Too many open files" in message
