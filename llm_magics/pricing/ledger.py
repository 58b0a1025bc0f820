"""Calls found in a stored run: every record that carries `usage` (turns, steps, compare runs, eval rows).

Why a walk and not one reader per run kind: discussions, workflows, comparisons and evals store
different shapes, and new kinds keep coming; each of them keeps its calls as records with
``usage`` (and ``cost``, ``provider``, ``model`` where known). A record's stored ``cost`` is what
the run showed when it ran and is used as is; a record saved before costs existed is priced now
from the catalogue.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from llm_magics.pricing.catalog import PriceCatalog
from llm_magics.pricing.cost import CostTotal, cost_of
from llm_magics.providers.base import Cost, Usage

__all__ = ["CallRecord", "calls_in", "run_cost"]


@dataclass(frozen=True)
class CallRecord:
    provider: str | None
    model: str | None
    usage: Usage
    cost: Cost


def _split_target(target: Any) -> tuple[str | None, str | None]:
    if not isinstance(target, str) or ":" not in target:
        return None, None
    provider, _, model = target.partition(":")
    return provider or None, model or None


def calls_in(data: Any, provider: str | None = None, model: str | None = None, *,
             prices: PriceCatalog | None = None) -> Iterator[CallRecord]:
    """Every call record inside stored run data, with provider/model inherited from enclosing levels."""
    if isinstance(data, Mapping):
        prov = data.get("provider") if isinstance(data.get("provider"), str) else provider
        mod = data.get("model") if isinstance(data.get("model"), str) else model
        tp, tm = _split_target(data.get("target"))
        prov, mod = tp or prov, tm or mod
        raw = data.get("usage")
        if isinstance(raw, Mapping) and "prompt_tokens" in raw:
            usage = Usage.from_dict(raw) or Usage()
            stored = data.get("cost")
            if isinstance(stored, Mapping):  # a Cost dict (turns, steps, compare attempts)
                cost = Cost.from_dict(stored)
            elif isinstance(stored, (int, float)) and not isinstance(stored, bool):  # eval rows: amount + currency
                cost = Cost(float(stored), str(data.get("currency") or "USD"), True)
            else:  # saved before costs existed (or by a kind that leaves an unknown cost out): price it now
                cost = cost_of(prov, mod, usage, prices=prices)
            yield CallRecord(prov, mod, usage, cost)
        for key, value in data.items():
            if key not in ("usage", "cost") and isinstance(value, (Mapping, list)):
                yield from calls_in(value, prov, mod, prices=prices)
    elif isinstance(data, list):
        for item in data:
            yield from calls_in(item, provider, model, prices=prices)


def run_cost(data: Any, provider: str | None = None, model: str | None = None, *,
             prices: PriceCatalog | None = None) -> CostTotal:
    """The total cost of one stored run (per currency, with the count of unpriced calls)."""
    return CostTotal.of(c.cost for c in calls_in(data, provider, model, prices=prices))
