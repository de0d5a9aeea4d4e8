"""SNMP collection: a lean v1/v2c engine, pysnmp for v3, vendor profiles as data.

observation.py, state.py and samples.py are what the rest of netwatch sees (through PLUGIN);
the engine (engine.py, ber.py, v3.py) loads only when the collector starts or a CLI polls.
"""

from netwatch.collectors.snmp.plugin import PLUGIN

__all__ = ["PLUGIN"]
