"""The `netwatch` subcommands: one module each, with register(subparsers) and a handler."""

from __future__ import annotations

import argparse
import os
import sys

# typing.TYPE_CHECKING without importing typing (~3 ms of `netwatch ping`'s start-up, which is
# compared with fping's); mypy reads any `if TYPE_CHECKING:` as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

    Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
else:
    Subparsers = argparse._SubParsersAction


class HelpFormatter(argparse.HelpFormatter):
    """argparse's, with the terminal width read as shutil.get_terminal_size reads it: argparse
    imports shutil (and with it bz2, lzma, fnmatch: ~4 ms) for each parser's first argument."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _columns() -> int:
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80
