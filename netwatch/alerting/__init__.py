"""Alerting: village service state → alerts (engine) → notifications (outbox, notifiers)."""
