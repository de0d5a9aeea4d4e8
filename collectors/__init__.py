"""Collectors: one module per protocol, each turning a device into an observation.

Installed as ``netwatch.collectors``. A collector knows nothing of exporters or alerts.
"""
