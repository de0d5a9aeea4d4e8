"""Grafana dashboards: generated JSON, its generator and provisioning files (not installed)."""
