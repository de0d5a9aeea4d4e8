"""The demo network: the default inventory on loopback addresses in a private namespace.

Inside the namespace every 127.x address answers on `lo`; nftables rules then make the
scenario: one village's router unreachable (village down), one AP of a two-AP village
unreachable (degraded), one village router behind a lossy link (20% of echoes dropped,
still up), and one AP that answers ping while its radio is off, which only SNMP shows
(degraded). Every device answers SNMP from a simulated agent on its own address. Real
packets throughout; nothing outside the namespace is touched.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from dataclasses import dataclass

from netwatch.core.model import Inventory, Role

DEMO_COMMUNITY = "netwatch-demo"  # the simulated agents' community (not a secret)


@dataclass(frozen=True)
class Scenario:
    down_village: str  # village code whose router is cut off
    down_device: str
    degraded_village: str  # village code with one of its APs cut off
    degraded_device: str
    lossy_village: str
    lossy_device: str
    radio_village: str  # village code with an AP whose radio is off (seen only by SNMP)
    radio_device: str
    loss_percent: int = 20

    def describe(self, inv: Inventory) -> list[str]:
        def v(code: str) -> str:
            village = inv.villages[code]
            return f"{village.name} ({code}), {inv.districts[village.district].name}"

        return [
            f"down:     {v(self.down_village)}: router {self.down_device} is cut off",
            f"degraded: {v(self.degraded_village)}: access point {self.degraded_device} is cut off",
            f"lossy:    {v(self.lossy_village)}: {self.loss_percent}% of echoes to "
            f"{self.lossy_device} are dropped (still up)",
            f"radio:    {v(self.radio_village)}: access point {self.radio_device} answers ping "
            "but its Wi-Fi radio is off (seen over SNMP: degraded)",
        ]


def pick_scenario(inv: Inventory) -> Scenario:
    """Choose the scenario's villages from the inventory itself (stable for a given file)."""
    villages = list(inv.villages.values())

    def device(code: str, role: Role, nth: int = 0) -> str:
        names = [d.name for d in inv.village_devices(code) if d.role is role]
        return names[nth]

    def has(code: str, role: Role, n: int) -> bool:
        return sum(1 for d in inv.village_devices(code) if d.role is role) >= n

    with_router = [v.code for v in villages if has(v.code, Role.ROUTER, 1)]
    two_aps = [v.code for v in villages if has(v.code, Role.AP, 2) and has(v.code, Role.ROUTER, 1)]
    if len(with_router) < 3 or not two_aps:
        raise ValueError("the demo needs 3 villages with a router, one of them with two APs")
    degraded = two_aps[len(two_aps) // 2]
    radio = two_aps[len(two_aps) // 4]
    rest = [c for c in with_router if c not in (degraded, radio)]
    down, lossy = rest[len(rest) // 3], rest[(2 * len(rest)) // 3]
    return Scenario(
        down_village=down,
        down_device=device(down, Role.ROUTER),
        degraded_village=degraded,
        degraded_device=device(degraded, Role.AP, 1),
        lossy_village=lossy,
        lossy_device=device(lossy, Role.ROUTER),
        radio_village=radio,
        radio_device=device(radio, Role.AP, 0),
    )


def nft_ruleset(inv: Inventory, sc: Scenario) -> str:
    """Echo requests to the cut-off devices are dropped; the lossy one loses some.

    The drop happens on input, as on a real far-away link: a drop on output would fail the
    sender's sendto() with EPERM instead of losing the echo silently.
    """
    cut = ", ".join(inv.devices[n].address for n in (sc.down_device, sc.degraded_device))
    lossy = inv.devices[sc.lossy_device].address
    return f"""table inet netwatch_demo {{
  chain input {{
    type filter hook input priority 0; policy accept;
    ip daddr {{ {cut} }} icmp type echo-request drop
    ip daddr {{ {cut} }} udp dport 161 drop
    ip daddr {lossy} icmp type echo-request numgen random mod 100 < {sc.loss_percent} drop
  }}
}}
"""


def build_network(inv: Inventory, sc: Scenario) -> None:
    """Bring up lo and load the scenario's rules in the (already entered) private namespace."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)
    subprocess.run(
        ["nft", "-f", "-"], input=nft_ruleset(inv, sc), text=True, check=True, capture_output=True
    )


def demo_inventory(inv: Inventory, interval: float, state_dir: str) -> Inventory:
    """The default inventory with short intervals, so the demo shows results quickly, and its
    alert database in state_dir (a temporary folder: the demo leaves nothing behind)."""
    ping = dataclasses.replace(inv.settings.ping, interval=interval)
    snmp = dataclasses.replace(inv.settings.snmp, interval=max(interval, 10.0))
    alerting = dataclasses.replace(
        inv.settings.alerting, db_path=os.path.join(state_dir, "alerts.sqlite3")
    )
    settings = dataclasses.replace(inv.settings, ping=ping, snmp=snmp, alerting=alerting)
    return dataclasses.replace(inv, settings=settings)
