"""Evaluate model IDs on a labelled dataset: scores with confidence intervals, cost, latency (issue 14)."""

from __future__ import annotations

__all__: list[str] = []
