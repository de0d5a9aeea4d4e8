"""An alert engine on a test clock, fed by real SNMP polls of an snmpsim agent through State.

Shared by the tests of what an AP or its controller reports (tests/alerting/test_no_clients.py,
tests/alerting/test_controller_radios.py); each adds how it changes the agent and what it polls.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from netwatch.alerting import store
from netwatch.alerting.engine import Engine
from netwatch.alerting.types import Notification
from netwatch.collectors.snmp.collector import probe
from netwatch.collectors.snmp.engine import SnmpEngine
from netwatch.config.loader import load_inventory
from netwatch.core.model import Inventory
from netwatch.core.state import State


class PolledLab:
    """The inventory of config, its engine (clock: self.now) listening to its State."""

    def __init__(self, config: Path, now: float) -> None:
        self.inventory: Inventory = load_inventory(config)
        self.now = now
        self.sent: list[Notification] = []
        conn = store.connect(self.inventory.settings.alerting.db_path)
        self.engine = Engine(self.inventory, conn=conn, sink=self.sent.append,
                             clock=lambda: self.now)  # fmt: skip
        self.state = State(self.inventory)
        self.state.add_listener(self.engine.on_observation)

    def poll(self, device: str) -> None:
        """One real SNMP poll of device, recorded in State (the engine hears it there)."""
        dev = self.inventory.devices[device]
        cred = self.inventory.credentials[dev.snmp or ""]

        async def run() -> None:
            async with SnmpEngine() as engine:
                obs = await probe(dev, cred, self.inventory.settings.snmp, engine)
            assert obs.error is None, obs.message
            self.state.record(obs)

        asyncio.run(run())

    def fired(self, name: str) -> list[Notification]:
        return [n for n in self.sent if n.alert.name == name]

    def close(self) -> None:
        self.engine.conn.close()
