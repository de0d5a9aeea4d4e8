"""Service probes (blackbox-style): TCP connect, HTTP(S) status/body/TLS expiry, DNS rcode/answers.

Configured per device or village (`services:` in the inventory, netwatch.core.services); one
module per protocol (tcp.py, http.py, dns.py), one job per device (collector.py). A failing
service leaves its device serving but makes an up village degraded (state.py's verdict).
"""

from netwatch.collectors.service.plugin import PLUGIN

__all__ = ["PLUGIN"]
