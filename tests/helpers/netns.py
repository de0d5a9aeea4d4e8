"""Network namespaces for tests: N namespaces joined by veth links with 127.x addresses.

    with Netlab() as lab:
        core, village = lab.add("core"), lab.add("village")
        link = lab.link(core, "127.100.0.1", village, "127.100.0.2")
        village.nft("table inet t {\n chain i {\n type filter hook input priority 0; drop\n }\n}")
        link.set_up(False)                        # outage: both ends down
        lab.add("district", router=True)          # forwards; add routes with lab.route()
        core.run("fping", "127.100.0.2", check=False)
        pinger = core.call(Pinger.open)           # a socket opened inside the namespace
        core.call(asyncio.run, main())            # or a whole event loop inside it

Every namespace, link and process started through it is removed on exit, whatever happened.
127.x on veth follows TESTBED.md: lo keeps only 127.0.0.1/32, route_localnet=1 on each end,
addresses with scope global. Needs root; `requires_root` is a ready-made skip marker.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import itertools
import os
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import pytest

T = TypeVar("T")
_CLONE_NEWNET = 0x40000000
_PREFIX = "nwlab"
_counter = itertools.count()
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)

requires_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: creates network namespaces and raw sockets"
)


def _ip(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *argv], capture_output=True, text=True, timeout=30)
    if check and done.returncode:
        raise RuntimeError(f"ip {' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return done


def _setns(fd: int) -> None:
    if _libc.setns(fd, _CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


class Namespace:
    """One network namespace: run commands, set sysctls, load nftables rules inside it."""

    def __init__(self, lab: Netlab, key: str, name: str) -> None:
        self.lab = lab
        self.key = key
        self.name = name  # the `ip netns` name

    def argv(self, *argv: str) -> list[str]:
        """argv prefixed to run inside this namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(
        self, *argv: str, check: bool = True, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        """Run a command inside the namespace and wait for it (bounded by timeout)."""
        done = subprocess.run(
            self.argv(*argv), capture_output=True, text=True, input=input, timeout=timeout
        )
        if check and done.returncode:
            raise RuntimeError(
                f"in netns {self.name}: {' '.join(argv)} exited {done.returncode}: "
                f"{done.stderr.strip()}"
            )
        return done

    def popen(self, *argv: str, **kwargs: Any) -> subprocess.Popen:
        """Start a long-running process inside the namespace; the lab stops it on exit."""
        proc = subprocess.Popen(self.argv(*argv), **kwargs)
        self.lab._procs.append(proc)
        return proc

    def sysctl(self, key: str, value: str) -> None:
        self.run("sysctl", "-q", "-w", f"{key}={value}")

    def nft(self, ruleset: str) -> None:
        """Load an nftables ruleset (nft -f syntax) into this namespace."""
        self.run("nft", "-f", "-", input=ruleset)

    def addresses(self) -> str:
        return self.run("ip", "-o", "addr").stdout

    def link_local(self, dev: str) -> str:
        """The IPv6 link-local address of dev (without scope)."""
        out = self.run("ip", "-o", "-6", "addr", "show", "dev", dev, "scope", "link").stdout
        return out.split()[3].split("/")[0]

    @contextlib.contextmanager
    def entered(self) -> Iterator[None]:
        """Switch the calling thread into the namespace (sockets opened here stay in it)."""
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(own)
        finally:
            os.close(target)
            os.close(own)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args) in a fresh thread inside the namespace; other threads are not moved."""
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                with self.entered():
                    box["value"] = fn(*args, **kwargs)
            except BaseException as exc:  # re-raised in the caller
                box["error"] = exc

        thread = threading.Thread(target=target, name=f"netns-{self.key}")
        thread.start()
        thread.join(timeout=60)
        if "error" in box:
            raise box["error"]
        return box["value"]


class Link:
    """A veth pair between two namespaces, with one 127.x address on each end."""

    def __init__(
        self, a: Namespace, dev_a: str, addr_a: str, b: Namespace, dev_b: str, addr_b: str
    ) -> None:
        self.a, self.dev_a, self.addr_a = a, dev_a, addr_a
        self.b, self.dev_b, self.addr_b = b, dev_b, addr_b

    def set_up(self, up: bool, *, side: str = "both") -> None:
        """Bring the link up or down on side "a", "b" or "both" (an outage)."""
        state = "up" if up else "down"
        if side in ("a", "both"):
            self.a.run("ip", "link", "set", self.dev_a, state)
        if side in ("b", "both"):
            self.b.run("ip", "link", "set", self.dev_b, state)


class Netlab:
    """A set of test namespaces and links; a context manager that deletes them all."""

    def __init__(self, prefix: str = _PREFIX) -> None:
        self.prefix = prefix  # namespace names: PREFIX-PID-N-KEY (a benchmark uses its own)
        self.namespaces: dict[str, Namespace] = {}
        self.links: list[Link] = []
        self._procs: list[subprocess.Popen] = []
        self._id = f"{os.getpid()}-{next(_counter)}"

    def __enter__(self) -> Netlab:
        _remove_stale(self.prefix)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(
        self, key: str, *, router: bool = False, sysctls: Sequence[tuple[str, str]] = ()
    ) -> Namespace:
        """A new namespace with lo up (127.0.0.1/32 only) and ICMP rate limits off.

        router=True forwards packets between its links (a district router between the core
        and its villages; 127.x forwards because each link end has route_localnet=1)."""
        if key in self.namespaces:
            raise ValueError(f"namespace {key!r} already exists in this lab")
        name = f"{self.prefix}-{self._id}-{key}"
        _ip("netns", "add", name)
        ns = self.namespaces[key] = Namespace(self, key, name)
        ns.run("ip", "link", "set", "lo", "up")
        # The default 127.0.0.0/8 on lo would capture every 127.x, including the links'.
        ns.run("ip", "addr", "del", "127.0.0.1/8", "dev", "lo")
        ns.run("ip", "addr", "add", "127.0.0.1/32", "dev", "lo")
        ns.sysctl("net.ipv4.icmp_ratelimit", "0")
        ns.sysctl("net.ipv6.icmp.ratelimit", "0")
        # IPv6 link-local addresses of new links are usable at once, not after DAD (~1 s).
        ns.sysctl("net.ipv6.conf.default.accept_dad", "0")
        ns.sysctl("net.ipv6.conf.all.accept_dad", "0")
        if router:
            ns.sysctl("net.ipv4.ip_forward", "1")
            ns.sysctl("net.ipv6.conf.all.forwarding", "1")
        for k, v in sysctls:
            ns.sysctl(k, v)
        return ns

    def link(
        self,
        a: Namespace,
        addr_a: str,
        b: Namespace,
        addr_b: str,
        *,
        prefix: int = 24,
    ) -> Link:
        """Join a and b by a veth pair with addr_a/prefix in a and addr_b/prefix in b."""
        n = len(self.links)
        dev_a, dev_b = f"veth{n}{b.key}"[:15], f"veth{n}{a.key}"[:15]
        _ip(
            "link", "add", dev_a, "netns", a.name, "type", "veth",
            "peer", "name", dev_b, "netns", b.name,
        )  # fmt: skip
        for ns, dev, addr in ((a, dev_a, addr_a), (b, dev_b, addr_b)):
            ns.sysctl(f"net.ipv4.conf.{dev}.route_localnet", "1")
            ns.run("ip", "addr", "add", f"{addr}/{prefix}", "dev", dev, "scope", "global")
            ns.run("ip", "link", "set", dev, "up")
        link = Link(a, dev_a, addr_a, b, dev_b, addr_b)
        self.links.append(link)
        return link

    def route(self, ns: Namespace, destination: str, via: str) -> None:
        """Add a route in ns, e.g. lab.route(core, "127.102.0.0/24", via="127.101.0.2")."""
        ns.run("ip", "route", "add", destination, "via", via)

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=5)
        self._procs.clear()
        for ns in self.namespaces.values():
            _ip("netns", "del", ns.name, check=False)  # its veth ends go with it
        self.namespaces.clear()
        self.links.clear()


def _remove_stale(prefix: str = _PREFIX) -> None:
    """Delete namespaces that this helper made in test processes that no longer exist."""
    listing = _ip("netns", "list", check=False).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        parts = name.split("-")
        mine = len(parts) >= 4 and parts[0] == prefix and parts[1].isdigit()
        if mine and not os.path.exists(f"/proc/{parts[1]}"):
            _ip("netns", "del", name, check=False)


@pytest.fixture
def netlab() -> Iterator[Netlab]:
    """A Netlab deleted after the test."""
    if os.geteuid() != 0:
        pytest.skip("needs root: creates network namespaces")
    with Netlab() as lab:
        yield lab
