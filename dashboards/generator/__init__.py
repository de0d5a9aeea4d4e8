"""Builds netwatch's Grafana dashboards with grafana-foundation-sdk (the one source of truth)."""
