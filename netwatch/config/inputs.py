"""What a load read from outside, to tell later whether a new load would read the same.

A reload of files that read as they did needs no loader child (netwatch.config.isolated):
kept apart from the loader so that the monitoring process checks without importing it.
"""

from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass, field

from netwatch.cluster.member import Member


def read_text(path: str) -> str:
    """A config file's text as the loader reads it."""
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def text_digest(text: str) -> str:
    """The digest of a file's text as the loader read it (decoded, newlines translated)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass
class Inputs:
    """Everything a load read from outside: each file's text (by digest) and each include
    glob's matches, in the order read, and the directory relative paths were read from.
    The load is a function of these alone (no clock, no environment, no other file), so
    while they read the same, a new load would build the same inventory."""

    cwd: str = field(default_factory=os.getcwd)
    files: list[tuple[str, str]] = field(default_factory=list)  # (path as opened, digest)
    globs: list[tuple[str, list[str]]] = field(default_factory=list)  # (pattern, matches)

    def unchanged(self) -> bool:
        """Whether every input still reads as it did (False at the first difference: a
        file changed, gone or unreadable, a glob matching other files, another cwd)."""
        if os.getcwd() != self.cwd:
            return False
        for pattern, matches in self.globs:
            if sorted(glob.glob(pattern)) != matches:
                return False
        for path, digest in self.files:
            try:
                if text_digest(read_text(path)) != digest:
                    return False
            except (OSError, ValueError):  # gone, unreadable, no longer UTF-8
                return False
        return True


def child_args(path: str, member: Member | None) -> tuple[str, ...]:
    """The loader child's arguments for (path, member), as its _main reads them."""
    if member is None:
        return (path,)
    return (path, "" if member.shard is None else str(member.shard), member.replica or "")


@dataclass(frozen=True)
class Read:
    """What a child read to give an answer: its arguments (path and member as asked), the
    member settled (None: not cut to a shard) and the inputs (files, globs)."""

    args: tuple[str, ...]
    settled: Member | None
    inputs: Inputs

    def answers(self, path: str, member: Member | None) -> bool:
        """Whether a child asked for (path, member) would read what this one did: the same
        arguments, or a complete member equal to the one this child settled (with the same
        files, the same settings settle it the same way)."""
        if self.args == child_args(path, member):
            return True
        return (
            member is not None
            and None not in (member.shard, member.replica)
            and self.args[:1] == (path,)
            and member == self.settled
        )
