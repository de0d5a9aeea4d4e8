"""The SNMP pieces wired as the runtime wires them: scheduler → collector → state, and a
trap → scheduler.request_poll → an extra poll recorded in state."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time

from netwatch.collectors.snmp import PLUGIN as SNMP
from netwatch.collectors.snmp.collector import SnmpCollector
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.collectors.snmp.traps import TrapListener
from netwatch.core.model import Inventory, SecretRef, Settings, SnmpCredential, SnmpTrapSettings
from netwatch.core.scheduler import Scheduler
from netwatch.core.state import State
from netwatch.core.telemetry import REGISTRY
from tests.collectors.snmp.support import device
from tests.helpers import needs, snmprec
from tests.helpers.snmpd import free_udp_port


async def test_trap_triggers_an_extra_scheduled_poll(recordings_agent, recordings_dir):
    needs.tool("snmptrap", "snmp")
    host, port = recordings_agent
    os.environ["NW_TEST_SCHED_COMMUNITY"] = "routeros"
    cred = SnmpCredential(name="rt", version="2c", port=port,
                          community=SecretRef(env="NW_TEST_SCHED_COMMUNITY"))  # fmt: skip
    # A long interval: the first run comes at its spread offset, so only a recheck is quick.
    dev = device("ap-1", address=host, snmp="rt", ping=False, snmp_interval=3600.0)
    inv = Inventory("35.10", "Banyuwangi", Settings(), {}, {}, {dev.name: dev}, {"rt": cred})
    state = State(inv)
    before = REGISTRY.get_sample_value("netwatch_poll_duration_seconds_count",
                                       {"collector": "snmp"}) or 0.0  # fmt: skip
    async with SnmpEngine() as engine:
        scheduler = Scheduler([SnmpCollector(lambda: inv, engine)], state.record)
        scheduler.start(inv)
        traps = TrapListener(lambda: inv, scheduler.request_poll,
                             SnmpTrapSettings(enabled=True, address="127.0.0.1",
                                              port=free_udp_port()))  # fmt: skip
        thost, tport = await traps.start()
        try:
            proc = await asyncio.create_subprocess_exec(
                "snmpinform", "-v2c", "-c", "routeros", "-m", "", "-t", "2", "-r", "0",
                f"{thost}:{tport}", "", "1.3.6.1.6.3.1.1.5.3",
            )  # fmt: skip
            assert await asyncio.wait_for(proc.wait(), 10) == 0
            deadline = time.monotonic() + 10
            while state.devices["ap-1"].part(SNMP) is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        finally:
            await traps.stop()
            await scheduler.shutdown()
    snmp = state.devices["ap-1"].part(SNMP)
    assert snmp is not None and snmp.last is not None and snmp.last.error is None
    recs = snmprec.read(recordings_dir / "routeros.snmprec")
    assert snmp.last.uptime_ticks == snmprec.scalar(recs, "1.3.6.1.2.1.1.3.0").number
    after = REGISTRY.get_sample_value("netwatch_poll_duration_seconds_count",
                                      {"collector": "snmp"})  # fmt: skip
    assert after == before + 1


async def test_collector_counts_errors_by_reason():
    os.environ["NW_TEST_SCHED_COMMUNITY"] = "public"
    cred = SnmpCredential(name="rt", version="2c", port=free_udp_port(),
                          community=SecretRef(env="NW_TEST_SCHED_COMMUNITY"))  # fmt: skip
    dev = device("ap-1", snmp="rt")
    fast = Settings(snmp=dataclasses.replace(Settings().snmp, timeout=0.2, retries=0))
    inv = Inventory("35.10", "Banyuwangi", fast, {}, {}, {dev.name: dev}, {"rt": cred})
    labels = {"collector": "snmp", "reason": "timeout"}
    before = REGISTRY.get_sample_value("netwatch_poll_errors_total", labels) or 0.0
    async with SnmpEngine() as engine:
        obs = await SnmpCollector(lambda: inv, engine).collect(dev)
    assert obs.error == "timeout"
    assert REGISTRY.get_sample_value("netwatch_poll_errors_total", labels) == before + 1
    missing = device("ap-2", snmp="nope")
    async with SnmpEngine() as engine:
        obs = await SnmpCollector(lambda: inv, engine).collect(missing)
    assert obs.error == "credential" and "nope" in obs.message
