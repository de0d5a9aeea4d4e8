"""A private network namespace for the demo: unshare(2) via ctypes (Python 3.11 has no os.unshare).

The namespace belongs to this process alone, so it disappears with it, even after kill -9:
the demo leaves nothing behind. Sockets opened before the switch stay in the host namespace,
which is how the demo's web server stays reachable while its probes run inside.
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


class SandboxError(RuntimeError):
    pass


def _unshare(flags: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def enter_private_network() -> str:
    """Move this (still single-threaded) process into a new network namespace.

    As root: a plain network namespace. Otherwise: a user namespace mapping our uid to root
    inside it, which Debian allows by default. Returns "root" or "user" for messages.
    """
    if os.geteuid() == 0:
        try:
            _unshare(CLONE_NEWNET)
        except OSError as exc:
            raise SandboxError(f"cannot create a network namespace: {exc}") from exc
        return "root"
    uid, gid = os.getuid(), os.getgid()
    try:
        _unshare(CLONE_NEWUSER | CLONE_NEWNET)
    except OSError as exc:
        raise SandboxError(
            "cannot create a private network namespace as an unprivileged user "
            f"({exc}); run the demo as root, or allow user namespaces "
            "(sysctl kernel.unprivileged_userns_clone=1)"
        ) from exc
    with open("/proc/self/setgroups", "w") as fh:
        fh.write("deny")
    with open("/proc/self/uid_map", "w") as fh:
        fh.write(f"0 {uid} 1")
    with open("/proc/self/gid_map", "w") as fh:
        fh.write(f"0 {gid} 1")
    return "user"
