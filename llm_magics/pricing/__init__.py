"""Prices, costs, pre-flight estimates and the session budget (issue 15).

- `catalog()` — built-in `data/prices.yaml` overlaid by `LLM_MAGICS_HOME/prices.yaml`.
- `cost_of(provider, model, usage, base_url=...)` → `Cost` (amount, currency, known).
- `estimate_run([PlannedCall(...)])` → `Estimate` (calls, prompt tokens, cost range), no chat sent.
- `budget` — `%llm config budget=2.50`: refuse runs that cannot fit, stop runs that cross it.

Sits beside keys/ and history/: imports providers/ (for `Cost`, `Usage`) and config, nothing above.
"""

from __future__ import annotations

from llm_magics.pricing import budget
from llm_magics.pricing.catalog import Price, PriceCatalog, catalog, user_prices_path
from llm_magics.pricing.cost import CostTotal, compute_cost, cost_of, format_cost, pricer_for
from llm_magics.pricing.estimate import Estimate, PlannedCall, aestimate_run, estimate_run, local_token_count
from llm_magics.providers.base import Cost

__all__ = [
    "Cost",
    "CostTotal",
    "Estimate",
    "PlannedCall",
    "Price",
    "PriceCatalog",
    "aestimate_run",
    "budget",
    "catalog",
    "compute_cost",
    "cost_of",
    "estimate_run",
    "format_cost",
    "local_token_count",
    "pricer_for",
    "user_prices_path",
]
