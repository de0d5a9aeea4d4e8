"""sendmmsg(2) and recvmmsg(2) through ctypes: many datagrams per system call, for sweeps.

A `sendto`/`recvmsg` from Python costs ~1 µs of interpreter work around each system call;
here the message headers are laid out once in arrays and one call moves a whole batch.
struct mmsghdr is eight machine words on 64-bit Linux (msghdr's seven, then msg_len padded),
so the layout is written with array slices at C speed. Linux, 64-bit little-endian only:
`available()` says whether this process can use it (the callers fall back otherwise).
"""

from __future__ import annotations

import ctypes
import struct
import sys
from array import array
from collections.abc import Callable

MSG_DONTWAIT = 0x40  # linux/socket.h
_WORDS = 8  # struct mmsghdr in 64-bit words: name, namelen, iov, iovlen, control, controllen,
# flags, msg_len
HEADER_BYTES = 8 * _WORDS
_IOV_WORDS = 2  # struct iovec: base, len

_Call = Callable[..., int]
_calls: tuple[_Call, _Call] | None = None
_looked_up = False


def _lookup() -> tuple[_Call, _Call] | None:
    global _calls, _looked_up
    if _looked_up:
        return _calls
    _looked_up = True
    if sys.platform != "linux" or struct.calcsize("P") != 8 or sys.byteorder != "little":
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        send, recv = libc.sendmmsg, libc.recvmmsg
    except (OSError, AttributeError):
        return None
    send.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    recv.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
    send.restype = recv.restype = ctypes.c_int
    _calls = (send, recv)
    return _calls


def available() -> bool:
    """Whether sendmmsg/recvmmsg can be called here (Linux, 64-bit little-endian, libc has them)."""
    return _lookup() is not None


def _address(buf: bytearray) -> tuple[int, object]:
    """The address of buf's storage, and the ctypes view that must live as long as it is used
    (it also keeps buf from being resized under the kernel's feet)."""
    view = (ctypes.c_char * len(buf)).from_buffer(buf)
    return ctypes.addressof(view), view


def _headers(count: int, names: array, name_len: int, iovs: int) -> array:
    """mmsghdr words for count messages: names[i] the address of message i's sockaddr, iovs the
    address of the first of count one-buffer iovecs."""
    mm = array("Q", bytes(8 * _WORDS * count))
    mm[0::_WORDS] = names
    mm[1::_WORDS] = array("Q", [name_len]) * count
    mm[2::_WORDS] = array("Q", range(iovs, iovs + 16 * count, 16))
    mm[3::_WORDS] = array("Q", [1]) * count
    return mm


class Outbox:
    """Messages laid out for sendmmsg: message k is packets[k*plen:(k+1)*plen] to the sockaddr
    at names[(k % hosts) * name_len] (so that each round of a sweep reuses the addresses)."""

    def __init__(
        self, packets: bytearray, plen: int, names: bytearray, name_len: int, hosts: int
    ) -> None:
        calls = _lookup()
        if calls is None:
            raise OSError("sendmmsg is not available here")
        # sendmmsg(fd, headers + HEADER_BYTES * first, count, flags), for callers' hot loops
        self.sendmmsg = calls[0]
        self.total = len(packets) // plen
        pbase, self._pview = _address(packets)
        nbase, self._nview = _address(names)
        self._packets, self._names = packets, names
        rounds = -(-self.total // hosts)
        name_ptrs = (array("Q", range(nbase, nbase + name_len * hosts, name_len)) * rounds)[
            : self.total
        ]
        iov = array("Q", bytes(8 * _IOV_WORDS * self.total))
        iov[0::_IOV_WORDS] = array("Q", range(pbase, pbase + plen * self.total, plen))
        iov[1::_IOV_WORDS] = array("Q", [plen]) * self.total
        self._iov = iov
        self._mm = _headers(self.total, name_ptrs, name_len, iov.buffer_info()[0])
        self.headers = self._mm.buffer_info()[0]  # the address of message 0's mmsghdr

    def send(self, fd: int, first: int, count: int) -> int:
        """Send messages first..first+count-1: how many went (from the first), or -errno when
        not even the first did (the error of a later one shows on the call that starts there)."""
        sent = self.sendmmsg(fd, self.headers + HEADER_BYTES * first, count, MSG_DONTWAIT)
        return sent if sent >= 0 else -ctypes.get_errno()


class Inbox:
    """Preallocated slots for recvmmsg: each datagram's first data_len bytes, its source
    (name_len bytes) and room for one control message of ctrl_len bytes."""

    def __init__(self, slots: int, data_len: int, name_len: int, ctrl_len: int) -> None:
        calls = _lookup()
        if calls is None:
            raise OSError("recvmmsg is not available here")
        self._recv = calls[1]
        self.slots = slots
        self.data = bytearray(slots * data_len)
        self.names = bytearray(slots * name_len)
        self.ctrl = bytearray(slots * ctrl_len)
        self._blank_ctrl = bytes(len(self.ctrl))
        dbase, self._dview = _address(self.data)
        nbase, self._nview = _address(self.names)
        cbase, self._cview = _address(self.ctrl)
        iov = array("Q", bytes(8 * _IOV_WORDS * slots))
        iov[0::_IOV_WORDS] = array("Q", range(dbase, dbase + data_len * slots, data_len))
        iov[1::_IOV_WORDS] = array("Q", [data_len]) * slots
        self._iov = iov
        mm = _headers(slots, array("Q", range(nbase, nbase + name_len * slots, name_len)),
                      name_len, iov.buffer_info()[0])  # fmt: skip
        mm[4::_WORDS] = array("Q", range(cbase, cbase + ctrl_len * slots, ctrl_len))
        mm[5::_WORDS] = array("Q", [ctrl_len]) * slots
        self.mm = mm
        self._blank_mm = array("Q", mm)  # the kernel writes lengths and flags back: reset each call
        self._mm_base = mm.buffer_info()[0]

    def receive(self, fd: int) -> int:
        """Read up to `slots` queued datagrams without waiting: how many, 0 when none is
        queued, or -errno. Control slots of datagrams without one read as zeros."""
        self.mm[:] = self._blank_mm
        self.ctrl[:] = self._blank_ctrl
        got = self._recv(fd, self._mm_base, self.slots, MSG_DONTWAIT, None)
        return got if got >= 0 else -ctypes.get_errno()

    def lengths(self, count: int) -> array:
        """The lengths of the first count datagrams received (msg_len)."""
        return self.mm[_WORDS - 1 : _WORDS * count : _WORDS]
