"""What the cause kinds (causes.py) keep of each watched device's last answered poll.

Split from causes.py (which kept under 400 lines): the facts by device with the set of APs
whose polls count Wi-Fi clients, and the ONU rows' shape used to tell an OLT's change.
"""

from __future__ import annotations

from collections.abc import Mapping

from netwatch.core import link_facts as cf
from netwatch.core.model import OnuLink


class FactsByDevice(dict[str, cf.DeviceFacts]):
    """The facts of each watched device's last answered poll, and the devices whose facts
    count Wi-Fi clients (`counting`, a superset: a deleted entry may stay in it). The
    no-clients kind reads only APs counted by themselves or their controller: at 50,000
    devices a tick asked 5,000 APs polled without client rows for a count (issue 10)."""

    def __init__(self, items: Mapping[str, cf.DeviceFacts] | None = None) -> None:
        super().__init__()
        self.counting: set[str] = set()
        self.version = 0  # changes when a device joins or leaves `counting`
        for name, facts in (items or {}).items():
            self[name] = facts

    def __setitem__(self, name: str, facts: cf.DeviceFacts) -> None:
        super().__setitem__(name, facts)
        counting = self.counting
        if facts.of(cf.CLIENTS):
            if name not in counting:
                counting.add(name)
                self.version += 1
        elif name in counting:
            counting.discard(name)
            self.version += 1


def onu_where(link: OnuLink) -> dict[str, str]:
    out = {"olt": link.olt, "onu": link.describe()}
    if link.pon is not None:
        out["pon"] = link.pon
    return out


OnuStates = frozenset[tuple[float, tuple[tuple[str, str], ...]]]


def onu_states(facts: cf.DeviceFacts | None) -> OnuStates:
    """The ONU rows of an OLT's poll (value and labels), to tell when one changed."""
    if facts is None:
        return frozenset()
    return frozenset((r.value, tuple(sorted(r.labels.items()))) for r in facts.of(cf.ONU_UP))
