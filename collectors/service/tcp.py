"""TCP probe: connect to address:port, optionally shake hands with TLS."""

from __future__ import annotations

import asyncio
import ssl
import time

from netwatch.collectors.service.observation import ProbeResult, os_error_text
from netwatch.collectors.service.tls import client_context, not_after
from netwatch.core.services import TcpCheck


async def probe_tcp(
    name: str, check: TcpCheck, default_address: str, timeout: float
) -> ProbeResult:
    """Never raises: a failure is a result with its reason."""
    res = ProbeResult(name, "tcp")
    host = check.address or default_address
    t0 = time.perf_counter()
    writer: asyncio.StreamWriter | None = None
    phase = "connect"
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, check.port)
            t1 = time.perf_counter()
            res.phases["connect"] = t1 - t0
            if check.tls:
                phase = "tls"
                ctx = client_context(check.verify_tls)
                await writer.start_tls(ctx, server_hostname=check.server_name or host)
                res.phases["tls"] = time.perf_counter() - t1
                res.tls_not_after = not_after(writer.get_extra_info("ssl_object"))
        res.success = True
    except TimeoutError:
        res.reason, res.message = "timeout", f"no answer within {timeout:g} s ({phase})"
    except ssl.SSLError as exc:
        res.reason, res.message = "tls", str(exc)
    except OSError as exc:
        res.reason, res.message = phase, os_error_text(exc)
    finally:
        res.duration = time.perf_counter() - t0
        if writer is not None:
            writer.close()
    return res
