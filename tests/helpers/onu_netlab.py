"""The cause lab (cause_lab.py) inside test namespaces, with Sarongan's router and AP silenced
at will: they live in a namespace of their own behind a veth link from `core`, where netwatch,
snmpsim (OLT, controller, POP on 127.0.0.2-4), net-snmp's tools and the webhook sink run.
Taking the village's end of the link down is a power cut or a fibre cut at the village.

    with village_netlab() as (core, link), core.entered():
        asyncio.run(scenario(link))      # running_lab(..., village=(ROUTER, AP)) inside
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.helpers.netns import Link, Namespace, Netlab

ROUTER, AP = "127.103.1.2", "127.103.1.3"
# The cause lab's other addresses: OLT, controller, POP, Kandangan's router (answer on lo).
LOCAL = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.7")
PREFIX = "nwfibre2"  # namespace names: nwfibre2-PID-N-core / -village


@contextlib.contextmanager
def village_netlab() -> Iterator[tuple[Namespace, Link]]:
    """(core, the link core ↔ village); every namespace is deleted on exit."""
    with Netlab(prefix=PREFIX) as net:
        core, village = net.add("core"), net.add("village")
        link = net.link(core, "127.103.1.1", village, ROUTER)
        village.run("ip", "addr", "add", f"{AP}/24", "dev", link.dev_b, "scope", "global")
        for address in LOCAL:
            core.run("ip", "addr", "add", f"{address}/32", "dev", "lo")
        yield core, link


def cut(link: Link) -> None:
    """The village goes silent (power cut or fibre cut): its end of the link goes down."""
    link.set_up(False, side="b")


def restore(link: Link) -> None:
    link.set_up(True, side="b")
