"""settings.alerting.complaints: when residents' complaints raise an alert (correlation).

Standalone (standard library only): netwatch.core.model imports it; the alert engine reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WEEK = 7 * 86400.0


def _between(low: float, high: float) -> dict[str, Any]:
    def check(value: float) -> None:
        if not low <= value <= high:
            raise ValueError(f"{value:g} must be between {low:g} and {high:g}")

    return {"check": check}


@dataclass(frozen=True, slots=True)
class ComplaintAlertSettings:
    """Several open complaints from one village within `window` while every measurement there
    says up raise one warning; it resolves when `window` passes without an open complaint."""

    threshold: int = field(default=3, metadata=_between(1, 1000))  # complaints in the window
    window: float = field(default=3600.0, metadata=_between(60, WEEK))  # seconds
