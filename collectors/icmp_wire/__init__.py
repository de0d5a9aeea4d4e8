"""ICMP echo on the wire: the shared sockets, batched system calls and the CLI's sweep.

A package of its own, apart from collectors/icmp, so that `netwatch ping` can use it without
the collector package's imports (asyncio, the plugin and its registration): its CPU is
compared with fping's, start-up included (docs/performance.md, issue 10).
"""
