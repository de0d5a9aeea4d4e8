"""`netwatch web hash-password`: a bcrypt hash for settings.web.basic_auth_users."""

from __future__ import annotations

import argparse
import getpass
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("web", help="admin listener helpers")
    actions = p.add_subparsers(dest="web_command", required=True, metavar="ACTION")
    h = actions.add_parser(
        "hash-password", help="read a password (stdin or prompt), print its bcrypt hash"
    )
    h.add_argument("--cost", type=int, default=12, help="bcrypt cost (default 12)")
    h.set_defaults(handler=hash_password)


def hash_password(args: argparse.Namespace) -> int:
    import bcrypt

    if not 4 <= args.cost <= 16:
        print("netwatch web hash-password: --cost must be 4..16", file=sys.stderr)
        return 2
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        print("netwatch web hash-password: empty password", file=sys.stderr)
        return 1
    print(bcrypt.hashpw(password.encode(), bcrypt.gensalt(args.cost)).decode())
    return 0
