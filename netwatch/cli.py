"""The `netwatch` command: each subcommand lives in netwatch.commands.<name>.

Command modules import their heavy dependencies inside their handlers, so that a one-shot
`netwatch ping` does not pay for importing the scheduler, the web server or pysnmp.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from netwatch import __version__
from netwatch.commands import HelpFormatter

# Order is the order of `netwatch --help`.
COMMANDS = (
    "run",
    "demo",
    "config",
    "inventory",
    "ping",
    "snmp",
    "alerts",
    "report",
    "web",
    "complaints",
)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; when argv starts with a command name, only that command's module is
    imported (`netwatch ping` is compared with fping, start-up included)."""
    parser = argparse.ArgumentParser(
        prog="netwatch",
        description="Network and Wi-Fi monitoring for village free Wi-Fi.",
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"netwatch {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    names: tuple[str, ...] = COMMANDS
    if argv and argv[0] in COMMANDS:
        names = (argv[0],)
    for name in names:
        importlib.import_module(f"netwatch.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
