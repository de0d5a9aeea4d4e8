"""Config errors: every problem found, each as `file:line: path: message`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a config file; line is 1-based (0 when the file itself is at fault)."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


# More errors than this are counted, not listed: a broken generated file must not produce a
# million log lines and a 160 MB HTTP answer.
MAX_ISSUES = 200


class ConfigError(Exception):
    """A config that did not validate; .errors lists every problem as a string."""

    def __init__(self, issues: list[Issue], more: int = 0) -> None:
        self.issues = list(issues)
        self.errors = [str(i) for i in self.issues]
        if more:
            self.errors.append(f"... and {more} more errors (the first {len(issues)} are shown)")
        super().__init__("\n".join(self.errors))


class Where(Protocol):
    """A place in a config file (nodes.Loc): file, 1-based line, dotted path."""

    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def path(self) -> str: ...


class Issues:
    """Collects problems so that one pass reports all of them (the first MAX_ISSUES)."""

    def __init__(self) -> None:
        self.items: list[Issue] = []
        self.more = 0

    def add(self, file: str, line: int, path: str, message: str) -> None:
        if len(self.items) >= MAX_ISSUES:
            self.more += 1
            return
        self.items.append(Issue(file, line, path, message))

    def at(self, loc: Where, message: str) -> None:
        """Record message at a Loc (anything with file, line and path)."""
        self.add(loc.file, loc.line, loc.path, message)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.items, self.more)
