"""REPO for older imports; the data tests read lives in the repository (tests/helpers/data.py)."""

from __future__ import annotations

from tests.helpers.data import REPO

__all__ = ["REPO"]
