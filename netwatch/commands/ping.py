"""`netwatch ping`: echo many hosts at once and print fping -C style lines or JSON.

Imports stay inside the handler: this command's CPU is compared with fping's, and
interpreter start-up is most of it.
"""

from __future__ import annotations

import argparse
import sys

from netwatch.commands import HelpFormatter, Subparsers

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up; mypy: true)
if TYPE_CHECKING:
    from netwatch.collectors.icmp.rounds import EchoRound
    from netwatch.collectors.icmp_wire.sweep import Swept

EXIT_ALL_ANSWERED = 0
EXIT_SOME_DEAD = 1
EXIT_USAGE = 2


def register(subparsers: Subparsers) -> None:
    p = subparsers.add_parser(
        "ping",
        formatter_class=HelpFormatter,
        help="send ICMP echoes to hosts (like fping -C)",
        description="Send ICMP echoes to every host at once over one shared socket. "
        "Exit 0 if every host answered, 1 if some host lost all echoes, 2 on usage or "
        "permission errors.",
    )
    p.add_argument("addresses", nargs="*", metavar="ADDRESS", help="IP address or host name")
    p.add_argument("-c", "--count", type=_count, default=3, help="echoes per host (default 3)")
    p.add_argument(
        "-p",
        "--interval",
        type=_non_negative,
        default=200.0,
        metavar="MS",
        help="milliseconds between echoes to one host (default 200)",
    )
    p.add_argument(
        "-t",
        "--timeout",
        type=_non_negative,
        default=1.0,
        metavar="S",
        help="seconds to wait for each echo's reply (default 1)",
    )
    p.add_argument("-s", "--size", type=_size, default=56, help="ICMP payload bytes (default 56)")
    p.add_argument(
        "-f", "--file", metavar="F", help="read addresses from F, one a line ('-' = stdin)"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument(
        "--json",
        action="store_true",
        help="print a JSON array of results, one compact object a line",
    )
    out.add_argument(
        "--json-pretty", action="store_true", help="print the JSON array indented, for reading"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        addresses = list(args.addresses) + (_read_file(args.file) if args.file else [])
    except (OSError, UnicodeDecodeError) as exc:
        print(f"netwatch ping: cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"netwatch ping: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not addresses:
        print("netwatch ping: no address given (arguments or --file)", file=sys.stderr)
        return EXIT_USAGE

    import gc

    # A sweep makes a few objects per host that live until it ends, and no cycles worth
    # collecting: the cyclic collector's passes over that growing heap cost ~0.08 s of a
    # 50,000-host sweep's ~0.6 s (issue 10). Reference counting still frees the rest.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _sweep_and_print(args, addresses)
    finally:
        if was_enabled:
            gc.enable()


def _sweep_and_print(args: argparse.Namespace, addresses: list[str]) -> int:
    import time

    from netwatch.collectors.icmp_wire.sockets import IcmpUnavailable
    from netwatch.collectors.icmp_wire.sweep import sweep

    started = time.monotonic()
    spacing = args.interval / 1000.0
    # IPv4 literals: batched system calls and no event loop; otherwise the collector's Pinger.
    swept = sweep(addresses, args.count, spacing, args.timeout, args.size)
    if swept is None:
        try:
            swept = _sweep_with_pinger(addresses, args.count, spacing, args.timeout, args.size)
        except IcmpUnavailable as exc:
            print(f"netwatch ping: {exc}", file=sys.stderr)
            return EXIT_USAGE
    elapsed = time.monotonic() - started

    if args.json or args.json_pretty:
        sys.stdout.write(_json(swept, pretty=args.json_pretty))
    else:
        sys.stdout.write(_lines(swept))
    addrs = swept.addresses
    errors = "".join(f"{addrs[h]}: {why}\n" for h, why in sorted(swept.errors.items()))
    dead = _dead(swept)
    sys.stderr.write(errors + _summary(swept, dead, elapsed) + "\n")
    return EXIT_SOME_DEAD if dead else EXIT_ALL_ANSWERED


def _sweep_with_pinger(
    addresses: list[str], count: int, spacing: float, timeout: float, size: int
) -> Swept:
    """The collector's asyncio sweep (names, IPv6, datagram sockets), in sweep.py's columns."""
    import asyncio

    from netwatch.collectors.icmp_wire.sweep import Swept

    rounds = asyncio.run(_sweep(addresses, count, spacing, timeout, size))
    swept = Swept(addresses, count, [rnd.rtts[i] for i in range(count) for rnd in rounds])
    for host, rnd in enumerate(rounds):
        if rnd.error is not None:
            swept.errors[host] = rnd.error
            swept.sent_before_error[host] = rnd.sent
    return swept


async def _sweep(
    addresses: list[str], count: int, spacing: float, timeout: float, size: int
) -> list[EchoRound]:
    from netwatch.collectors.icmp import Pinger

    pinger = await Pinger.create()
    try:
        return await pinger.sweep_rounds(addresses, count, spacing, timeout, size)
    finally:
        pinger.close()


def _read_file(path: str) -> list[str]:
    """Addresses of a file, one a line; blank lines and # comments skipped."""
    if path == "-":
        text, name = sys.stdin.read(), "<stdin>"
    else:
        with open(path, encoding="utf-8") as f:
            text, name = f.read(), path
    lines = text.splitlines()
    if "#" not in text:  # the common file: no comments; C loops only (a sweep of 50,000)
        entries = list(filter(None, map(str.strip, lines)))
        if len(" ".join(entries).split()) == len(entries):
            return entries
    out = []
    for number, line in enumerate(lines, 1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if len(entry.split()) > 1:
            raise ValueError(f"{name}:{number}: one address a line, not {entry!r}")
        out.append(entry)
    return out


def _ms(rtt: float | None) -> str:
    """An RTT as fping prints it: milliseconds, three significant digits."""
    if rtt is None:
        return "-"
    ms = rtt * 1000.0
    if ms < 1.0:
        return f"{ms:.3f}"
    if ms < 10.0:
        return f"{ms:.2f}"
    if ms < 100.0:
        return f"{ms:.1f}"
    return f"{ms:.0f}"


def _lines(swept: Swept) -> str:
    addrs, rtts, ms = swept.addresses, swept.rtts, _ms
    line = f"%-{max(map(len, addrs))}s : %s\n"
    if swept.count == 1:
        return "".join([line % pair for pair in zip(addrs, map(ms, rtts), strict=True)])
    hosts = len(addrs)
    return "".join([line % (a, " ".join(map(ms, rtts[h::hosts]))) for h, a in enumerate(addrs)])


def _json(swept: Swept, pretty: bool) -> str:
    """One JSON array. Compact: one object a line, written here as the C encoder writes it
    (floats by repr, strings by its escaping; tests compare the two); an indented dump goes
    through the pure-Python encoder, about 15 times slower at 5,000 hosts."""
    if pretty:
        import json

        records = [_record(swept, h) for h in range(len(swept.addresses))]
        return json.dumps(records, indent=2) + "\n"
    try:  # the json package's own C escaping, without importing the package (start-up)
        from _json import encode_basestring_ascii as quote
    except ImportError:  # an interpreter without the accelerator
        from json.encoder import encode_basestring_ascii as quote

    from netwatch.collectors.icmp_wire.result import jitter, loss_ratio

    addrs, count, errors = swept.addresses, swept.count, swept.errors
    usual = count == 1 and not errors and not swept.sent_before_error
    hosts = len(addrs)
    rows = [swept.rtts[i * hosts : (i + 1) * hosts] for i in range(count)]
    losses: dict[tuple[int, int], str] = {}  # (sent, received) -> loss ratio as written
    out = []
    for host, (address, echoes) in enumerate(zip(addrs, zip(*rows, strict=True), strict=True)):
        if usual and echoes[0] is not None:  # a large sweep's usual line
            text = repr(echoes[0])
            out.append(_ANSWERED_ONCE % (quote(address), text, text, text, text))
            continue
        rtts = [t for t in echoes if t is not None]
        sent, received = swept.sent(host), len(rtts)
        texts = list(map(repr, rtts))
        if received == 1:
            low = avg = high = texts[0]
        elif received:  # min and max are among the RTTs already written (repr is ~0.5 µs)
            low, high = texts[rtts.index(min(rtts))], texts[rtts.index(max(rtts))]
            avg = repr(sum(rtts) / received)
        else:
            low = avg = high = "null"
        spread = jitter(rtts)
        loss = losses.get((sent, received))
        if loss is None:
            loss = losses[sent, received] = repr(loss_ratio(sent, received))
        error = errors.get(host)
        out.append(
            _RESULT
            % (
                quote(address), sent, received, loss, low, avg, high,
                "null" if spread is None else repr(spread), ",".join(texts),
                "null" if error is None else quote(error),
            )
        )  # fmt: skip
    return "[\n" + ",\n".join(out) + "\n]\n"


# The keys in _record's order, as JSONEncoder(separators=(",", ":")) writes them.
_RESULT = (
    '{"address":%s,"sent":%d,"received":%d,"loss_ratio":%s,"rtt_min_seconds":%s,'
    '"rtt_avg_seconds":%s,"rtt_max_seconds":%s,"jitter_seconds":%s,"rtts_seconds":[%s],'
    '"error":%s}'
)
# One echo, answered, no error anywhere: the usual line of a large sweep (min = avg = max).
_ANSWERED_ONCE = (
    '{"address":%s,"sent":1,"received":1,"loss_ratio":0.0,"rtt_min_seconds":%s,'
    '"rtt_avg_seconds":%s,"rtt_max_seconds":%s,"jitter_seconds":null,"rtts_seconds":[%s],'
    '"error":null}'
)


def _record(swept: Swept, host: int) -> dict[str, object]:
    """A host's result as the JSON object --json-pretty prints (and --json, compactly)."""
    from netwatch.collectors.icmp_wire.result import jitter, loss_ratio

    rtts = swept.received(host)
    sent = swept.sent(host)
    return {
        "address": swept.addresses[host],
        "sent": sent,
        "received": len(rtts),
        "loss_ratio": loss_ratio(sent, len(rtts)),
        "rtt_min_seconds": min(rtts) if rtts else None,
        "rtt_avg_seconds": sum(rtts) / len(rtts) if rtts else None,
        "rtt_max_seconds": max(rtts) if rtts else None,
        "jitter_seconds": jitter(rtts),
        "rtts_seconds": rtts,
        "error": swept.errors.get(host),
    }


def _dead(swept: Swept) -> int:
    """Hosts that answered no echo."""
    hosts, rtts = len(swept.addresses), swept.rtts
    answered = [t is not None for t in rtts[:hosts]]
    for start in range(hosts, len(rtts), hosts):
        answered = [
            a or t is not None for a, t in zip(answered, rtts[start : start + hosts], strict=True)
        ]
    return answered.count(False)


def _summary(swept: Swept, dead: int, elapsed: float) -> str:
    hosts = len(swept.addresses)
    sent = hosts * swept.count - sum(swept.count - n for n in swept.sent_before_error.values())
    received = len(swept.rtts) - swept.rtts.count(None)
    loss = 1.0 - received / sent if sent else 1.0
    return (
        f"{hosts} hosts: {hosts - dead} answered, {dead} lost all echoes; "
        f"{sent} echoes sent, {received} received ({loss:.1%} loss) in {elapsed:.2f} s"
    )


def _count(text: str) -> int:
    value = _integer(text)
    if not 1 <= value <= 10000:
        raise argparse.ArgumentTypeError(f"count must be 1..10000, not {value}")
    return value


def _size(text: str) -> int:
    value = _integer(text)
    if not 0 <= value <= 65000:
        raise argparse.ArgumentTypeError(f"size must be 0..65000 bytes, not {value}")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text}")
    return value


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
