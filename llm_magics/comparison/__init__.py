"""Model IDs side by side: one prompt to many targets, timing statistics and the table.

(The package is `comparison` so that `llm_magics.compare` stays the function.)"""

from __future__ import annotations

from llm_magics.comparison.api import Attempt, Comparison, Stat, TargetResult, acompare, compare, parse_target

__all__ = ["compare", "acompare", "Comparison", "TargetResult", "Attempt", "Stat", "parse_target"]
