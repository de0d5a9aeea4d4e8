"""Core: the inventory model, state, scheduler, runtime and self-telemetry."""
