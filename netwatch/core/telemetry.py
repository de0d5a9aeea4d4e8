"""netwatch's own health metrics (bounded label sets only), served beside the state metrics."""

from __future__ import annotations

import platform

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from netwatch import __version__

REGISTRY = CollectorRegistry(auto_describe=True)

# Poll rounds take from ~1 ms (SNMP on loopback) to tens of seconds (a slow walk).
_POLL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
# Lag is normally a few ms; anything above a second means the loop is overloaded. 0.75 and
# 0.9 let a quantile read from the buckets show "under 1 s" strictly (issue 10's target: lag
# p99 < 1 s), where 0.5 then 1 could only tell "at most 1 s".
_LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1, 2.5, 5, 10)

POLL_DURATION = Histogram(
    "netwatch_poll_duration_seconds",
    "Time one poll of one device took, by collector.",
    ["collector"],
    buckets=_POLL_BUCKETS,
    registry=REGISTRY,
)
POLL_ERRORS = Counter(
    "netwatch_poll_errors_total",
    "Polls that failed, by collector and reason.",
    ["collector", "reason"],
    registry=REGISTRY,
)
SCHEDULER_LAG = Histogram(
    "netwatch_scheduler_lag_seconds",
    "Delay between a job's scheduled time and its start.",
    ["collector"],
    buckets=_LAG_BUCKETS,
    registry=REGISTRY,
)
SCHEDULER_SKIPPED = Counter(
    "netwatch_scheduler_skipped_runs_total",
    "Runs skipped because the previous run of the same job was still going.",
    ["collector"],
    registry=REGISTRY,
)
SCHEDULER_MISSED = Counter(
    "netwatch_scheduler_missed_runs_total",
    "Runs that started too late (past the misfire grace time) and were dropped.",
    ["collector"],
    registry=REGISTRY,
)
SCHEDULER_JOBS = Gauge(
    "netwatch_scheduler_jobs",
    "Scheduled jobs, by collector.",
    ["collector"],
    registry=REGISTRY,
)
SCHEDULER_RUNNING = Gauge(
    "netwatch_scheduler_running_jobs",
    "Jobs running now (bounded by scheduler.max_concurrency).",
    registry=REGISTRY,
)
RELOAD_SUCCESS = Gauge(
    "netwatch_config_last_reload_successful",
    "1 if the last configuration reload succeeded, 0 if it failed.",
    registry=REGISTRY,
)
RELOAD_TIME = Gauge(
    "netwatch_config_last_reload_success_timestamp_seconds",
    "Time of the last successful configuration load.",
    registry=REGISTRY,
)
RELOADS = Counter(
    "netwatch_config_reloads_total",
    "Configuration reload attempts, by result.",
    ["result"],
    registry=REGISTRY,
)
BUILD_INFO = Info("netwatch_build", "netwatch version and Python runtime.", registry=REGISTRY)
BUILD_INFO.info({"version": __version__, "python": platform.python_version()})
