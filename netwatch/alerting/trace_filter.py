"""A kernel-side filter for a trace's receiving socket: only what a trace can use reaches Python.

scapy's L3RawSocket receives on an AF_PACKET socket, which sees every IPv4 packet of every
interface in both directions. Without a filter each trace thread decodes all of it in Python
for its whole timeout: at 50,000 devices the echo stream alone is ~17,000 packets a second on
loopback, and 16 traces at once took most of the process (issue 10, measured with py-spy).
The classic BPF program below keeps incoming ICMP time-exceeded and unreachable messages and
the echo replies that carry the trace's identifier; the kernel drops the rest.
"""

from __future__ import annotations

import ctypes
import socket
import struct

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)  # asm-generic/socket.h
_SKF_AD_PKTTYPE = -0x1000 + 4  # SKF_AD_OFF + SKF_AD_PKTTYPE: load the packet's direction
_NET = -0x100000  # SKF_NET_OFF: offsets from the IP header, whatever the link header
_PACKET_OUTGOING = 4  # linux/if_packet.h

# Opcodes (linux/filter.h)
_LD_W_ABS, _LD_B_ABS, _LD_B_IND, _LD_H_IND = 0x20, 0x30, 0x50, 0x48
_LDX_B_MSH, _JEQ_K, _RET_K = 0xB1, 0x15, 0x06
_ICMP_ECHO_REPLY, _ICMP_UNREACH, _ICMP_TIME_EXCEEDED = 0, 3, 11


def program(ident: int) -> list[tuple[int, int, int, int]]:
    """The filter: (code, jump if true, jump if false, k) instructions, accept = index 11."""
    return [
        (_LD_W_ABS, 0, 0, _SKF_AD_PKTTYPE),
        (_JEQ_K, 10, 0, _PACKET_OUTGOING),  # our own sends: drop
        (_LD_B_ABS, 0, 0, _NET + 9),  # IP protocol
        (_JEQ_K, 0, 8, socket.IPPROTO_ICMP),
        (_LDX_B_MSH, 0, 0, _NET),  # X = IP header length
        (_LD_B_IND, 0, 0, _NET),  # ICMP type
        (_JEQ_K, 4, 0, _ICMP_TIME_EXCEEDED),
        (_JEQ_K, 3, 0, _ICMP_UNREACH),
        (_JEQ_K, 0, 3, _ICMP_ECHO_REPLY),
        (_LD_H_IND, 0, 0, _NET + 4),  # ICMP identifier
        (_JEQ_K, 0, 1, ident),
        (_RET_K, 0, 0, 0x40000),  # accept (up to 256 KiB of the packet)
        (_RET_K, 0, 0, 0),  # drop
    ]


def attach(sock: socket.socket, ident: int) -> None:
    """Attach program(ident) to sock (an AF_PACKET socket); the kernel copies it."""
    code = b"".join(
        struct.pack("HBBI", c, jt, jf, k & 0xFFFFFFFF) for c, jt, jf, k in program(ident)
    )
    buf = ctypes.create_string_buffer(code, len(code))
    # struct sock_fprog {unsigned short len; struct sock_filter *filter;}, native alignment.
    fprog = struct.pack("HP", len(code) // 8, ctypes.addressof(buf))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
