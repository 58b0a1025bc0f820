"""The session budget (`%llm config budget=2.50`): refuse a run that cannot fit, stop one that crosses.

Spending is recorded as priced calls finish (the pricer `get_provider` installs calls `record`),
per currency: the budget is "in the price currency", so a session that uses USD and CNY prices
has the same limit in each. Calls whose price is unknown cannot be counted and are not.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from llm_magics.errors import BudgetExceededError
from llm_magics.pricing.cost import format_amount
from llm_magics.providers.base import Cost

if TYPE_CHECKING:
    from llm_magics.pricing.estimate import Estimate

__all__ = ["limit", "record", "spent", "remaining", "check_estimate", "check_running", "reset", "status"]

_lock = threading.Lock()
_spent: dict[str, float] = {}


def limit() -> float | None:
    """The budget set with `%llm config budget=…` (or LLM_MAGICS_BUDGET), None when unlimited."""
    from llm_magics import config

    value = config.get("budget")
    return float(value) if value is not None else None


def record(cost: Cost | None) -> None:
    """Add one finished call's cost to the session's spending (unknown costs are skipped)."""
    if cost is None or not cost.known or cost.amount is None:
        return
    with _lock:
        _spent[cost.currency] = _spent.get(cost.currency, 0.0) + cost.amount


def spent(currency: str | None = None) -> float:
    with _lock:
        if currency is None:
            return sum(_spent.values())
        return _spent.get(currency.upper(), 0.0)


def remaining(currency: str = "USD") -> float | None:
    cap = limit()
    return None if cap is None else cap - spent(currency)


def reset() -> None:
    """Forget this session's spending (tests, or a new budget period)."""
    with _lock:
        _spent.clear()


def status() -> str:
    """"budget $2.50 · spent $0.1234 · left $2.3766" (per currency spent), or "no budget set"."""
    cap = limit()
    with _lock:
        spending = dict(_spent) or {"USD": 0.0}
    if cap is None:
        return "no budget set · spent " + ", ".join(format_amount(a, c) for c, a in sorted(spending.items()))
    parts = [f"budget {format_amount(cap, c)} · spent {format_amount(a, c)} · left {format_amount(cap - a, c)}"
             for c, a in sorted(spending.items())]
    return "; ".join(parts)


def check_estimate(estimate: Estimate) -> None:
    """Refuse before any request when the estimated minimum exceeds what is left."""
    cap = limit()
    if cap is None:
        return
    for currency, amount in estimate.min_total.amounts.items():
        left = cap - spent(currency)
        if amount > left:
            raise BudgetExceededError(
                f"Not started: this run's estimated minimum cost is {format_amount(amount, currency)} "
                f"({estimate.calls} calls, ~{estimate.prompt_tokens:,} prompt tokens) but only "
                f"{format_amount(max(left, 0.0), currency)} of the {format_amount(cap, currency)} budget is left. "
                "No request was sent.",
                hint="Raise it with `%llm config budget=…`, remove it with `%llm config --unset budget`, "
                     "or make the run smaller (fewer personas, rounds, targets or rows).",
            )


def check_running() -> None:
    """Raise when the budget is used up: running evals and workflows call this before each new call."""
    cap = limit()
    if cap is None:
        return
    with _lock:
        over = {c: a for c, a in _spent.items() if a >= cap}
    if over:
        currency, amount = next(iter(sorted(over.items())))
        raise BudgetExceededError(
            f"Budget used up: {format_amount(amount, currency)} spent of {format_amount(cap, currency)}; "
            "stopped before the next request (everything finished so far is kept).",
            hint="Raise it with `%llm config budget=…` and resume, or `%llm config --unset budget`.",
        )
