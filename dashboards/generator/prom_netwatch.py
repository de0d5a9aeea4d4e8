"""netwatch itself on Prometheus: polls, errors, scheduler lag, notification and InfluxDB queues."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import stat, timeseries
from grafana_foundation_sdk.models import dashboard as dm

from dashboards.generator.common import (
    PROM_DS,
    datasource_variable,
    pq,
    query_variable,
    steps,
    up_mappings,
)

UID = "netwatch-self"
J = 'job="$job"'
RI = "[$__rate_interval]"


def zero_when_quiet(expr: str, by: str, like: str, label: str = "") -> str:
    """expr, or 0 per `by` group of `like` while the counter has no series (no error yet);
    `label` (e.g. reason) is set to "none" there so legends still resolve."""
    fallback = f"sum by ({by}) ({like}) * 0"
    if label:
        fallback = f'label_replace({fallback}, "{label}", "none", "", "")'
    return f"{expr} or {fallback}"


def series(
    title: str, unit: str, *targets: tuple[str, str], desc: str = "", w: int = 12
) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).datasource(PROM_DS).unit(unit).height(8).span(w)
    if desc:
        panel = panel.description(desc)
    for i, (expr, legend) in enumerate(targets):
        panel = panel.with_target(pq(expr, legend, ref=chr(ord("A") + i)))
    return panel


def single(title: str, expr: str, unit: str, mappings: bool = False) -> stat.Panel:
    panel = (
        stat.Panel()
        .title(title)
        .datasource(PROM_DS)
        .with_target(pq(expr, instant=True))
        .unit(unit)
        .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .height(4)
        .span(4)
    )
    if mappings:
        panel = (
            panel.mappings(up_mappings())
            .thresholds(steps([(None, "red"), (1, "green")]))
            .color_scheme(dash.FieldColor().mode(dm.FieldColorModeId.THRESHOLDS))
        )
    return panel


def build() -> dash.Dashboard:
    polls = f"netwatch_poll_duration_seconds_count{{{J}}}"
    errors = zero_when_quiet(
        f"sum by (collector, reason) (rate(netwatch_poll_errors_total{{{J}}}{RI}))",
        "collector",
        f"rate({polls}{RI})",
        "reason",
    )
    skipped = zero_when_quiet(
        f"sum by (collector) (rate(netwatch_scheduler_skipped_runs_total{{{J}}}{RI}))",
        "collector",
        f"rate({polls}{RI})",
    )
    missed = zero_when_quiet(
        f"sum by (collector) (rate(netwatch_scheduler_missed_runs_total{{{J}}}{RI}))",
        "collector",
        f"rate({polls}{RI})",
    )

    def quantile(metric: str, q: str) -> str:
        return f"histogram_quantile({q}, sum by (collector, le) (rate({metric}_bucket{{{J}}}{RI})))"

    return (
        dash.Dashboard("netwatch / netwatch itself")
        .uid(UID)
        .description(
            "Is netwatch keeping up? Polls, errors, scheduler lag, notification and InfluxDB "
            "queues."
        )
        .tags(["netwatch", "prometheus"])
        .refresh("30s")
        .time("now-3h", "now")
        .timezone("browser")
        .with_variable(datasource_variable("prometheus"))
        .with_variable(
            query_variable("job", "Job", "label_values(netwatch_build_info, job)", PROM_DS)
        )
        .with_panel(single("netwatch up", f"up{{{J}}}", "none", mappings=True))
        .with_panel(
            single(
                "Config loaded",
                f"netwatch_config_last_reload_successful{{{J}}}",
                "none",
                mappings=True,
            )
        )
        .with_panel(single("Scheduled jobs", f"sum(netwatch_scheduler_jobs{{{J}}})", "none"))
        .with_panel(single("Running jobs", f"netwatch_scheduler_running_jobs{{{J}}}", "none"))
        .with_panel(
            single(
                "Last config load",
                f"time() - netwatch_config_last_reload_success_timestamp_seconds{{{J}}}",
                "s",
            )
        )
        .with_panel(single("Version", f"netwatch_build_info{{{J}}}", "none"))
        .with_row(dash.Row("Polls"))
        .with_panel(
            series(
                "Poll duration",
                "s",
                (quantile("netwatch_poll_duration_seconds", "0.5"), "{{collector}} p50"),
                (quantile("netwatch_poll_duration_seconds", "0.95"), "{{collector}} p95"),
                desc="Time one poll of one device took.",
            )
        )
        .with_panel(
            series(
                "Polls per second",
                "reqps",
                (f"sum by (collector) (rate({polls}{RI}))", "{{collector}}"),
            )
        )
        .with_panel(
            series(
                "Poll errors",
                "reqps",
                (errors, "{{collector}} {{reason}}"),
                desc="Failed polls per second by reason.",
            )
        )
        .with_panel(
            series(
                "Scheduler lag",
                "s",
                (quantile("netwatch_scheduler_lag_seconds", "0.5"), "{{collector}} p50"),
                (quantile("netwatch_scheduler_lag_seconds", "0.99"), "{{collector}} p99"),
                desc="Delay between a job's scheduled time and its start.",
            )
        )
        .with_panel(
            series(
                "Skipped and missed runs",
                "reqps",
                (skipped, "{{collector}} skipped"),
                (missed, "{{collector}} missed"),
                desc="Runs skipped (previous still going) or dropped (past the misfire grace).",
                w=24,
            )
        )
        .with_row(dash.Row("Notifications"))
        .with_panel(
            series(
                "Notification outbox",
                "none",
                (f"netwatch_notification_outbox_pending{{{J}}}", "pending"),
                desc="Undelivered notifications.",
                w=8,
            )
        )
        .with_panel(
            series(
                "Oldest undelivered notification",
                "s",
                (f"netwatch_notification_outbox_oldest_pending_age_seconds{{{J}}}", "age"),
                w=8,
            )
        )
        .with_panel(
            series(
                "Notifications sent and failed",
                "reqps",
                (
                    zero_when_quiet(
                        f"sum by (notifier) (rate(netwatch_notifications_sent_total{{{J}}}{RI}))",
                        "job",
                        f"netwatch_notification_outbox_pending{{{J}}}",
                        "notifier",
                    ),
                    "{{notifier}} sent",
                ),
                (
                    zero_when_quiet(
                        "sum by (notifier) "
                        f"(rate(netwatch_notification_attempts_failed_total{{{J}}}{RI}))",
                        "job",
                        f"netwatch_notification_outbox_pending{{{J}}}",
                        "notifier",
                    ),
                    "{{notifier}} failed",
                ),
                w=8,
            )
        )
        .with_row(dash.Row("InfluxDB"))
        .with_panel(
            series(
                "InfluxDB queue",
                "none",
                (f"netwatch_influxdb_points_queued{{{J}}}", "points queued"),
                w=6,
            )
        )
        .with_panel(
            series(
                "InfluxDB spool", "bytes", (f"netwatch_influxdb_spool_bytes{{{J}}}", "spool"), w=6
            )
        )
        .with_panel(
            series(
                "InfluxDB writes",
                "reqps",
                (f"rate(netwatch_influxdb_points_written_total{{{J}}}{RI})", "points written"),
                (
                    zero_when_quiet(
                        f"sum by (reason) (rate(netwatch_influxdb_write_errors_total{{{J}}}{RI}))",
                        "job",
                        f"rate(netwatch_influxdb_points_written_total{{{J}}}{RI})",
                        "reason",
                    ),
                    "errors {{reason}}",
                ),
                w=6,
            )
        )
        .with_panel(
            series(
                "Since last InfluxDB write",
                "s",
                (f"time() - netwatch_influxdb_last_success_timestamp_seconds{{{J}}}", "age"),
                w=6,
            )
        )
    )
