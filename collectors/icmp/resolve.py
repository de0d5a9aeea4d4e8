"""From the address a round was given to the socket and kernel address its echoes go to."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from netwatch.collectors.icmp.rounds import Binding
from netwatch.collectors.icmp_wire.sockets import EchoSocket, literal, scope_id

# resolver(name) -> addresses (the first is used); IPv6 ones may carry a scope, "fe80::1%2".
Resolver = Callable[[str], Awaitable[Sequence[str] | str]]
Families = dict[int, EchoSocket | str]  # AF_INET/AF_INET6 -> socket, or why it is unavailable


class Target(Protocol):
    """What is bound: a round (rounds.EchoRound) or a device's echo stream (stream.Probe)."""

    address: str  # as given: a literal (with an IPv6 scope) or a name
    bound: Binding | None
    error: str | None


async def default_resolver(host: str) -> list[str]:
    """Resolve a name with the loop's getaddrinfo (the system resolver)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_RAW)
    # An IPv6 scope comes back in sockaddr[3], not in the address string.
    return [
        f"{info[4][0]}%{info[4][3]}" if len(info[4]) > 3 and info[4][3] else str(info[4][0])
        for info in infos
    ]


async def resolve(
    rounds: Sequence[Target], families: Families, resolver: Resolver, timeout: float
) -> None:
    """Bind every round, resolving names at once; a failure is the round's error."""
    names = []
    for rnd in rounds:
        bare, _, scope = rnd.address.partition("%")
        lit = literal(bare)
        if lit is None:
            names.append(rnd)
        else:
            bind_literal(rnd, families, lit, scope)
    if not names:
        return
    answers = await asyncio.gather(
        *(_resolve_one(resolver, r.address, timeout) for r in names), return_exceptions=True
    )
    for rnd, ans in zip(names, answers, strict=True):
        if isinstance(ans, BaseException):
            if not isinstance(ans, Exception):
                raise ans
            rnd.error = f"unresolvable: {rnd.address}: {ans}"
            continue
        addrs = [ans] if isinstance(ans, str) else list(ans)
        if not addrs:
            rnd.error = f"unresolvable: {rnd.address}: no address"
            continue
        bare, _, scope = addrs[0].partition("%")
        norm = literal(bare)
        if norm is None:
            rnd.error = f"unresolvable: {rnd.address}: not an IP address: {addrs[0]}"
            continue
        bind_literal(rnd, families, norm, scope)


async def _resolve_one(resolver: Resolver, name: str, timeout: float) -> Sequence[str] | str:
    # A stuck system resolver must not hold a round (or a sweep) for its own timeouts.
    try:
        return await asyncio.wait_for(resolver(name), timeout)
    except TimeoutError:
        raise TimeoutError(f"no answer in {timeout:g} s") from None


def bind_literal(rnd: Target, families: Families, norm: str, scope: str) -> None:
    """Bind rnd to the socket of norm's family (a canonical address literal)."""
    v6 = ":" in norm
    fam = families.get(socket.AF_INET6 if v6 else socket.AF_INET)
    if not isinstance(fam, EchoSocket):
        rnd.error = f"send failed: {fam or 'no ICMP socket for this address family'}"
        return
    if v6:
        # Sources come back without their scope (it is sockaddr[3]): compare bare addresses.
        try:
            index = scope_id(scope)
        except OSError:
            rnd.error = f"unresolvable: {rnd.address}: no interface {scope!r}"
            return
        rnd.bound = Binding(fam, (norm, 0, 0, index), norm)
    else:
        rnd.bound = Binding(fam, (norm, 0), norm)
