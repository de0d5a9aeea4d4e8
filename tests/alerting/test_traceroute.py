"""Path localisation with scapy in test namespaces, checked against iputils ping -t (the peer)."""

from __future__ import annotations

import re

import pytest

from netwatch.alerting.traceroute import trace
from tests.helpers.netns import Netlab, requires_root
from tests.helpers.village_lab import District

pytestmark = [requires_root, pytest.mark.root]


def ping_ttl_hop(district: District, address: str, ttl: int) -> str | None:
    """Who answers an echo sent with this TTL, according to iputils ping."""
    out = district.core.run("ping", "-n", "-c", "1", "-W", "1", "-t", str(ttl), address,
                            check=False).stdout  # fmt: skip
    m = re.search(r"From (\S+) icmp_seq=\d+ (Time to live exceeded|Destination \w+ Unreachable)",
                  out)  # fmt: skip
    return m.group(1) if m else None


def test_reached_and_broken_paths():
    with Netlab() as lab:
        district = District(lab, villages=1)
        ap = "127.102.1.2"
        whole = district.core.call(trace, ap, 8, 0.5)
        assert whole.reached and whole.describe() is None
        # Hops before the AP: the POP, then the village router (as ping -t sees them).
        assert whole.hops == {1: ping_ttl_hop(district, ap, 1), 2: ping_ttl_hop(district, ap, 2)}
        assert whole.hops == {1: "127.100.0.2", 2: "127.101.1.2"}

        district.village_links[1].set_up(False)  # POP ↔ village router cut
        broken = district.core.call(trace, ap, 8, 0.5)
        assert not broken.reached
        assert broken.last_hop == ping_ttl_hop(district, ap, 3) == "127.100.0.2"
        assert broken.describe() == "127.100.0.2 (hop 1)"


def test_first_link_cut_breaks_at_hop_0():
    with Netlab() as lab:
        district = District(lab, villages=1)
        district.uplink.set_up(False, side="b")  # the POP's end of core's only link
        broken = district.core.call(trace, "127.101.1.2", 4, 0.3)
        assert not broken.reached and broken.hops == {}
        assert broken.describe() == "127.100.0.1 (hop 0)"  # core's own address on that link
        # Once ARP for the POP has failed, core's own stack answers "host unreachable": still
        # hop 0, not a hop of the path.
        district.core.run("ip", "neigh", "flush", "dev", district.uplink.dev_a)
        again = district.core.call(trace, "127.101.1.2", 2, 4.0, 1)  # past ARP's 3 s
        assert again.describe() == "127.100.0.1 (hop 0)"
