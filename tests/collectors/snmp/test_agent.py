"""The simulated agent, read by net-snmp's snmpbulkwalk/snmpget (the independent client)."""

from __future__ import annotations

import asyncio
import os
import tempfile

from netwatch.collectors.snmp.agent import Counter, Table, serve
from netwatch.collectors.snmp.types import Kind, Value
from tests.helpers.netsnmp import NETSNMP_FLAGS, parse_netsnmp

IF_DESCR = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
HC_IN = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6)
TABLE = {
    (1, 3, 6, 1, 2, 1, 1, 5, 0): Value(Kind.OCTET_STRING, b"desa-ap-01"),
    **{(*IF_DESCR, i): Value(Kind.OCTET_STRING, f"ether{i}".encode()) for i in range(1, 40)},
    (*HC_IN, 1): Counter(10**12, 1_000_000.0),
}


async def netsnmp(*args: str) -> list:
    env = {**os.environ, "SNMP_PERSISTENT_DIR": tempfile.gettempdir()}
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err
    return parse_netsnmp(out.decode())


async def test_snmpbulkwalk_reads_the_table() -> None:
    transport, _ = await serve("127.0.0.1", 0, {"village": Table(TABLE)})
    port = transport.get_extra_info("sockname")[1]
    try:
        rows = await netsnmp("snmpbulkwalk", "-v2c", "-c", "village", "-Cr10", *NETSNMP_FLAGS,
                             f"127.0.0.1:{port}", "1.3.6.1.2.1.2.2")  # fmt: skip
        assert rows == [((*IF_DESCR, i), Kind.OCTET_STRING, f"ether{i}".encode())
                        for i in range(1, 40)]  # fmt: skip
        first = await netsnmp("snmpget", "-v2c", "-c", "village", *NETSNMP_FLAGS,
                              f"127.0.0.1:{port}", "1.3.6.1.2.1.31.1.1.1.6.1",
                              "1.3.6.1.2.1.1.3.0")  # fmt: skip
        await asyncio.sleep(0.3)
        second = await netsnmp("snmpget", "-v2c", "-c", "village", *NETSNMP_FLAGS,
                               f"127.0.0.1:{port}", "1.3.6.1.2.1.31.1.1.1.6.1",
                               "1.3.6.1.2.1.1.3.0")  # fmt: skip
        assert first[0][1] == Kind.COUNTER64 and first[1][1] == Kind.TIMETICKS
        grown = second[0][2] - first[0][2]
        assert 200_000 <= grown <= 2_000_000  # 1e6/s over >= 0.3 s (and < 2 s)
        assert second[1][2] - first[1][2] >= 20  # uptime ticks at 100/s
    finally:
        transport.close()


async def test_unknown_community_gets_no_answer() -> None:
    transport, _ = await serve("127.0.0.1", 0, {"village": Table(TABLE)})
    port = transport.get_extra_info("sockname")[1]
    try:
        env = {**os.environ, "SNMP_PERSISTENT_DIR": tempfile.gettempdir()}
        proc = await asyncio.create_subprocess_exec(
            "snmpget", "-v2c", "-c", "other", "-t", "0.2", "-r", "0", *NETSNMP_FLAGS,
            f"127.0.0.1:{port}", "1.3.6.1.2.1.1.5.0",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), 10)
        assert proc.returncode != 0 and b"Timeout" in err
    finally:
        transport.close()
