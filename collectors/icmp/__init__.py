"""ICMP echo collector: device up/down, RTT, jitter and loss over one shared socket per family.

engine.py sends, rounds.py matches replies, icmp_wire/sockets.py opens the sockets; observation.py,
state.py and samples.py are what the rest of netwatch sees (through PLUGIN).
"""

from netwatch.collectors.icmp.engine import IcmpUnavailable, Pinger, default_resolver
from netwatch.collectors.icmp.observation import PingObservation, PingResult
from netwatch.collectors.icmp.plugin import PLUGIN
from netwatch.collectors.icmp.probe import IcmpCollector, probe
from netwatch.collectors.icmp_wire.sockets import checksum

__all__ = [
    "PLUGIN",
    "IcmpCollector",
    "IcmpUnavailable",
    "PingObservation",
    "PingResult",
    "Pinger",
    "checksum",
    "default_resolver",
    "probe",
]
