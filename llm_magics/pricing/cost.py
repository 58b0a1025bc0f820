"""Tokens × prices → `Cost`, and how a cost reads.

The formula, per million tokens (prompt_tokens already include cached and cache-write tokens, as
every provider reports them):

    (prompt − cached − cache_write) × input + cached × cached_input + cache_write × cache_write_price
    + completion × output

Reasoning tokens are part of completion_tokens (OpenAI, Moonshot, Anthropic all bill them as
output), so they are not added again. A missing `cached_input` / `cache_write` price means the
provider has no separate rate: those tokens bill at `input`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from llm_magics.errors import ConfigurationError
from llm_magics.pricing.catalog import PER_TOKENS, Price, PriceCatalog, catalog
from llm_magics.providers.base import Cost, Usage

__all__ = ["Cost", "compute_cost", "cost_of", "format_cost", "format_amount", "CostTotal", "UNKNOWN_MARK",
           "pricer_for"]

UNKNOWN_MARK = "—"
_SYMBOLS = {"USD": "$", "CNY": "¥", "EUR": "€", "GBP": "£"}


def compute_cost(usage: Usage | None, price: Price | None) -> Cost:
    """The cost of one call; unknown (amount None) without usage or without a price."""
    if price is None:
        return Cost()
    if usage is None:
        return Cost(currency=price.currency)
    cached = int(usage.cached_tokens or 0)
    written = int(getattr(usage, "cache_write_tokens", None) or 0)
    uncached = max(int(usage.prompt_tokens) - cached - written, 0)
    cached_rate = price.input if price.cached_input is None else price.cached_input
    write_rate = price.input if price.cache_write is None else price.cache_write
    micro = (uncached * price.input + cached * cached_rate + written * write_rate
             + int(usage.completion_tokens) * price.output)
    return Cost(amount=micro / PER_TOKENS, currency=price.currency, known=True)


def cost_of(provider: str | None, model: str | None, usage: Usage | None, *, base_url: str | None = None,
            prices: PriceCatalog | None = None) -> Cost:
    """Look the price up (region-aware) and compute; unknown when provider, model or price is missing."""
    if not provider or not model:
        return Cost()
    price = (prices or catalog()).lookup(provider, model, base_url)
    return compute_cost(usage, price)


def pricer_for(provider: str, base_url: str | None = None) -> Callable[[str, Usage | None], Cost]:
    """The callback `get_provider` hands to a provider: prices each finished call and counts it
    against the session budget. A broken user prices.yaml makes costs unknown here (never a failed
    run); `%llm prices` shows the error."""

    def price(model: str, usage: Usage | None) -> Cost:
        from llm_magics.pricing import budget

        try:
            cost = cost_of(provider, model, usage, base_url=base_url)
        except ConfigurationError:
            return Cost()
        budget.record(cost)
        return cost

    return price


def format_amount(amount: float, currency: str) -> str:
    """$0.0042, $0.13, $12.40, ¥1.27 — four decimals under one unit so small runs don't read as 0."""
    symbol = _SYMBOLS.get(currency.upper())
    number = f"{amount:.4f}" if abs(amount) < 1 else f"{amount:,.2f}"
    return f"{symbol}{number}" if symbol else f"{number} {currency.upper()}"


def format_cost(cost: Cost | None) -> str:
    """"$0.0042", or "—" when the price (or usage) is unknown."""
    if cost is None or not cost.known or cost.amount is None:
        return UNKNOWN_MARK
    return format_amount(cost.amount, cost.currency)


@dataclass
class CostTotal:
    """A sum of costs that keeps currencies apart and counts the calls it could not price."""

    amounts: dict[str, float] = field(default_factory=dict)
    unpriced: int = 0
    calls: int = 0

    def add(self, cost: Cost | None) -> CostTotal:
        self.calls += 1
        if cost is None or not cost.known or cost.amount is None:
            self.unpriced += 1
        else:
            self.amounts[cost.currency] = self.amounts.get(cost.currency, 0.0) + cost.amount
        return self

    @classmethod
    def of(cls, costs: Iterable[Cost | None]) -> CostTotal:
        total = cls()
        for c in costs:
            total.add(c)
        return total

    @property
    def known(self) -> bool:
        """True when every call was priced (and there was at least one)."""
        return self.calls > 0 and self.unpriced == 0

    def single(self) -> Cost:
        """One `Cost` when everything is priced in one currency, else unknown."""
        if self.known and len(self.amounts) == 1:
            (currency, amount), = self.amounts.items()
            return Cost(amount=amount, currency=currency, known=True)
        if self.known and not self.amounts:
            return Cost(amount=0.0, currency="USD", known=True)
        return Cost()

    def format(self) -> str:
        """"$0.0123", "$0.0123 + 2 unpriced calls", "—" (nothing priced)."""
        if not self.amounts:
            return UNKNOWN_MARK if self.unpriced or not self.calls else format_amount(0.0, "USD")
        text = " + ".join(format_amount(a, c) for c, a in sorted(self.amounts.items()))
        if self.unpriced:
            text += f" + {self.unpriced} unpriced call{'s' if self.unpriced != 1 else ''}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {"amounts": dict(self.amounts), "unpriced": self.unpriced, "calls": self.calls}

    @classmethod
    def from_dict(cls, d: Mapping[str, object] | None) -> CostTotal:
        if not d:
            return cls()
        amounts = d.get("amounts") or {}
        return cls(amounts={str(k): float(v) for k, v in dict(amounts).items()},  # type: ignore[call-overload]
                   unpriced=int(d.get("unpriced") or 0), calls=int(d.get("calls") or 0))  # type: ignore[call-overload]
