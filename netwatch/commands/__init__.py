"""The `netwatch` subcommands: one module each, with register(subparsers) and a handler."""

from __future__ import annotations

import argparse
from typing import TypeAlias

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
