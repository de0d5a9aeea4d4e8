"""Self-metrics of the SNMP engines, on netwatch.core.telemetry.REGISTRY (import this module once).

Built at scrape time from the `stats` of every SnmpEngine (live ones, plus the totals of
collected ones, so that counters never go down), as the other metric sources are.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from netwatch.collectors.snmp.engine import in_flight_total, stats_totals
from netwatch.core.telemetry import REGISTRY

_COUNTERS = (
    ("sent", "netwatch_snmp_datagrams_sent", "v1/v2c request datagrams sent, retries included."),
    ("received", "netwatch_snmp_datagrams_received", "v1/v2c datagrams received."),
    ("retries", "netwatch_snmp_retries", "Requests re-sent after a timeout."),
    ("timeouts", "netwatch_snmp_timeouts", "Requests that got no answer after all retries."),
    ("bulk_fallbacks", "netwatch_snmp_bulk_fallbacks",
     "Agents switched from GETBULK to GETNEXT, or from shared to one-column walks, because "
     "they mishandled GETBULK."),
    ("repetition_reductions", "netwatch_snmp_repetition_reductions",
     "Bulk walk steps retried smaller (tooBig or timeout): half the repetitions or varbinds."),
    ("truncated_walks", "netwatch_snmp_truncated_walks", "Walks stopped at max_rows."),
    ("decoded", "netwatch_snmp_answers_decoded",
     "Answers decoded: each matched a request still waiting (request-id and source)."),
    ("socket_drops", "netwatch_snmp_socket_drops",
     "Answers the kernel dropped because the engine's receive queue was full (the loop read "
     "too slowly): each is a re-send or a failed poll."),
)  # fmt: skip
_DROPPED = (
    ("decode_errors", "decode"),
    ("unknown_request_id", "unknown_request_id"),
    ("wrong_source", "wrong_source"),
    ("wrong_pdu", "wrong_pdu"),
    ("late_answers", "late"),
)


class EngineCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        totals = stats_totals()
        for attr, name, doc in _COUNTERS:
            family = CounterMetricFamily(name, doc)
            family.add_metric([], totals[attr])
            yield family
        dropped = CounterMetricFamily(
            "netwatch_snmp_datagrams_dropped",
            "Received datagrams dropped: undecodable, unknown request-id, wrong source, wrong PDU, "
            "late (its request timed out or was answered: shed before decoding).",
            labels=["reason"],
        )
        for attr, reason in _DROPPED:
            dropped.add_metric([reason], totals[attr])
        yield dropped
        in_flight = GaugeMetricFamily(
            "netwatch_snmp_requests_in_flight", "v1/v2c requests waiting for an answer now."
        )
        in_flight.add_metric([], in_flight_total())
        yield in_flight


COLLECTOR = EngineCollector()
REGISTRY.register(COLLECTOR)
