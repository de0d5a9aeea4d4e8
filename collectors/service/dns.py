"""DNS probe: one query to a given server (UDP, TCP when truncated); rcode and answers.

dnspython builds and parses the messages (name compression, every record type); the query goes
to the configured server only: the system resolver is never asked.
"""

from __future__ import annotations

import asyncio
import time

import dns.asyncquery
import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from netwatch.collectors.service.observation import ProbeResult
from netwatch.core.services import DnsCheck


async def probe_dns(name: str, check: DnsCheck, default_server: str, timeout: float) -> ProbeResult:
    """Never raises: a failure is a result with its reason."""
    res = ProbeResult(name, "dns")
    server = check.server or default_server
    t0 = time.perf_counter()
    try:
        query = dns.message.make_query(check.query, dns.rdatatype.from_text(check.type))
        async with asyncio.timeout(timeout):  # the UDP try and a TCP retry together
            response, _tcp = await dns.asyncquery.udp_with_fallback(
                query, server, timeout=timeout, port=check.port
            )
    except (TimeoutError, dns.exception.Timeout):
        res.reason, res.message = "timeout", f"no answer from {server} within {timeout:g} s"
    except (dns.exception.DNSException, OSError, ValueError) as exc:
        res.reason, res.message = "protocol", f"{server}: {exc}"
    else:
        res.phases["query"] = time.perf_counter() - t0
        rcode = response.rcode()
        res.dns_rcode = int(rcode)
        found = {rd.to_text() for rrset in response.answer for rd in rrset}
        res.dns_answers = sum(len(rrset) for rrset in response.answer)
        missing = [a for a in check.answers if a not in found]
        if dns.rcode.to_text(rcode) != check.rcode:
            res.reason = "rcode"
            res.message = f"rcode {dns.rcode.to_text(rcode)} (expected {check.rcode})"
        elif missing:
            res.reason = "answer"
            res.message = f"no answer {', '.join(missing)} among {', '.join(sorted(found))}"
        else:
            res.success = True
    res.duration = time.perf_counter() - t0
    return res
