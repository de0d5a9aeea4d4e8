"""The collectors netwatch runs, in exposition order: adding one is one line here.

Each entry is a collector package's PLUGIN (netwatch.core.plugins.Plugin); importing the
package registers its observation type with state.
"""

from __future__ import annotations

from netwatch.collectors import icmp, service, snmp
from netwatch.core.plugins import AnyPlugin

COLLECTORS: tuple[AnyPlugin, ...] = (icmp.PLUGIN, snmp.PLUGIN, service.PLUGIN)
