"""Pre-flight estimates: how many calls, how many prompt tokens, what it may cost — sending no chat.

A caller (a magic's ``--estimate``, the eval helper) describes the run as `PlannedCall`s: the
provider object it would use, the model, the messages known before the run and the output cap.
Prompt tokens come from the provider's own tokenizer endpoint when it has one and a key
(Kimi: ``POST /v1/tokenizers/estimate-token-count``), else from a local rule of thumb that is
labelled as such. Text that only exists once the run is going (earlier answers a later turn
reads) is not in the minimum; `carried_outputs` adds it to the maximum at the output cap.

The cost range is: minimum = prompt tokens × cache-miss input price; maximum = minimum + (output
cap × output price) + (carried outputs × output cap × input price).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llm_magics.pricing.catalog import PER_TOKENS, Price, PriceCatalog, catalog
from llm_magics.pricing.cost import CostTotal, format_amount
from llm_magics.providers.base import Cost, Message

if TYPE_CHECKING:
    from llm_magics.providers.base import Provider

__all__ = ["PlannedCall", "GroupEstimate", "Estimate", "aestimate_run", "estimate_run", "local_token_count",
           "LOCAL_METHOD", "TOKENIZER_CHUNK_CHARS"]

LOCAL_METHOD = "local estimate (≈4 chars/token; not a tokenizer)"
#: Messages are sent to a tokenizer endpoint in batches of at most this many characters.
TOKENIZER_CHUNK_CHARS = 200_000
_PER_MESSAGE_OVERHEAD = 4


@dataclass(frozen=True)
class PlannedCall:
    """One chat request a run would send."""

    provider: Provider
    messages: Sequence[Message]
    model: str | None = None
    #: The output cap for this call; None when none is set (the maximum cost is then unknown).
    max_output_tokens: int | None = None
    #: Earlier answers this call's prompt will include (unknown now, each at most the output cap).
    carried_outputs: int = 0
    #: A call that may not happen (a consensus debate round that stops early): in the maximum only.
    optional: bool = False
    label: str = ""

    @property
    def model_id(self) -> str:
        return self.model or self.provider.default_model or ""


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def local_token_count(messages: Sequence[Message]) -> int:
    """A tokenizer-free count: ~4 characters per token, 1 per CJK character, +4 per message."""
    total = 0
    for msg in messages:
        text = str(msg.get("content") or "") + str(msg.get("reasoning") or msg.get("reasoning_content") or "")
        wide = sum(1 for ch in text if _is_wide(ch))
        total += wide + math.ceil((len(text) - wide) / 4) + _PER_MESSAGE_OVERHEAD
    return total


@dataclass
class GroupEstimate:
    """The calls that share one provider, base URL and model."""

    provider: str
    model: str
    calls: int
    prompt_tokens: int  # of the calls that certainly happen (what the minimum cost is priced on)
    method: str
    price: Price | None
    max_output_tokens: int | None  # summed caps; None when any call has no cap
    carried_tokens: int  # upper bound of earlier answers read again (input side)
    min_cost: Cost = field(default_factory=Cost)
    max_cost: Cost = field(default_factory=Cost)
    optional_calls: int = 0
    optional_prompt_tokens: int = 0


@dataclass(repr=False)
class Estimate:
    """What a run would send and what it may cost. `min_cost` is what the budget checks."""

    groups: list[GroupEstimate]
    notes: list[str] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return sum(g.calls for g in self.groups)

    @property
    def prompt_tokens(self) -> int:
        return sum(g.prompt_tokens for g in self.groups)

    @property
    def min_total(self) -> CostTotal:
        return CostTotal.of(g.min_cost for g in self.groups)

    @property
    def max_total(self) -> CostTotal:
        return CostTotal.of(g.max_cost for g in self.groups)

    @property
    def min_cost(self) -> Cost:
        return self.min_total.single()

    @property
    def methods(self) -> list[str]:
        return sorted({g.method for g in self.groups})

    def cost_range(self) -> str:
        """"$0.0012 – $0.0213" (or with "—" where a price or an output cap is unknown)."""
        lo, hi = self.min_total, self.max_total
        return f"{lo.format()} – {hi.format()}"

    def summary(self) -> str:
        maybe = sum(g.optional_prompt_tokens for g in self.groups)
        extra = f" (+{maybe:,} if every debate round runs)" if maybe else ""
        return (f"{self.calls} call{'s' if self.calls != 1 else ''} · ~{self.prompt_tokens:,} prompt tokens{extra} · "
                f"estimated cost {self.cost_range()} · no chat request sent")

    def to_markdown(self) -> str:
        lines = ["**Estimate** — " + self.summary(), "",
                 "| provider | model | calls | prompt tokens | counted by | output cap | cost min | cost max |",
                 "|---|---|--:|--:|---|--:|--:|--:|"]
        for g in self.groups:
            cap = f"{g.max_output_tokens:,}" if g.max_output_tokens is not None else "—"
            lines.append(f"| {g.provider} | {g.model} | {g.calls} | {g.prompt_tokens:,} | {g.method} | {cap} | "
                         f"{_fmt(g.min_cost)} | {_fmt(g.max_cost)} |")
        notes = list(self.notes)
        if any(g.price is None for g in self.groups):
            notes.append("— = no price in the catalogue for that model (`%llm prices`; add it to "
                         "LLM_MAGICS_HOME/prices.yaml).")
        if any(g.max_output_tokens is None for g in self.groups):
            notes.append("No output cap was set for some calls, so their maximum is unknown (set --max-tokens).")
        if any(g.carried_tokens for g in self.groups):
            notes.append("The maximum includes earlier answers that later calls read again, each at the output cap.")
        if any(g.optional_calls for g in self.groups):
            n = sum(g.optional_calls for g in self.groups)
            notes.append(f"{n} of the calls may not happen (debate rounds stop once everyone agrees): "
                         "they count in the maximum only.")
        lines += [""] + [f"- {n}" for n in notes] if notes else []
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_markdown()

    __repr__ = __str__

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.to_markdown())

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def to_dict(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "prompt_tokens": self.prompt_tokens,
            "min": self.min_total.to_dict(),
            "max": self.max_total.to_dict(),
            "groups": [{"provider": g.provider, "model": g.model, "calls": g.calls, "prompt_tokens": g.prompt_tokens,
                        "method": g.method, "max_output_tokens": g.max_output_tokens,
                        "min_cost": g.min_cost.to_dict(), "max_cost": g.max_cost.to_dict()} for g in self.groups],
            "notes": list(self.notes),
        }


def _fmt(cost: Cost) -> str:
    return format_amount(cost.amount, cost.currency) if cost.known and cost.amount is not None else "—"


def _chunks(messages: Sequence[Message]) -> list[list[Message]]:
    out: list[list[Message]] = []
    current: list[Message] = []
    size = 0
    for m in messages:
        n = len(str(m.get("content") or ""))
        if current and size + n > TOKENIZER_CHUNK_CHARS:
            out.append(current)
            current, size = [], 0
        current.append(m)
        size += n
    if current:
        out.append(current)
    return out


async def _count(provider: Provider, model: str, calls: list[PlannedCall], notes: list[str]) -> tuple[int, str]:
    """Prompt tokens of these calls: the provider's tokenizer endpoint when it has one, else local."""
    counter = getattr(provider, "estimate_tokens", None)
    if counter is not None and getattr(provider, "key", None) is not None:
        from llm_magics.errors import LLMError

        # One request per batch of messages, not per call: token counts add up across messages.
        flat = [{"role": m.get("role", "user"), "content": str(m.get("content") or "")}
                for c in calls for m in c.messages]
        try:
            total = 0
            for chunk in _chunks(flat):
                total += int(await counter(chunk, model=model))
            return total, f"{provider.name} tokenizer endpoint"
        except LLMError as exc:
            notes.append(f"{provider.name} token estimate failed ({exc.message}); used the local estimate instead.")
    return sum(local_token_count(c.messages) for c in calls), LOCAL_METHOD


def _costs(price: Price | None, prompt: int, extra_prompt: int, cap: int | None, carried: int) -> tuple[Cost, Cost]:
    if price is None:
        return Cost(), Cost()
    if price.input == 0 and price.output == 0 and not price.cached_input and not price.cache_write:
        free = Cost(amount=0.0, currency=price.currency, known=True)  # free whatever the cap
        return free, free
    lo = prompt * price.input / PER_TOKENS
    low = Cost(amount=lo, currency=price.currency, known=True)
    if cap is None:
        return low, Cost(currency=price.currency)
    hi = lo + (extra_prompt + carried) * price.input / PER_TOKENS + cap * price.output / PER_TOKENS
    return low, Cost(amount=hi, currency=price.currency, known=True)


async def aestimate_run(calls: Sequence[PlannedCall], *, prices: PriceCatalog | None = None,
                        use_tokenizer: bool = True) -> Estimate:
    """Count the prompt tokens and price the range of `calls`; no chat request is sent.

    `use_tokenizer=False` counts locally and sends nothing at all (what the budget check uses).
    The output cap of each call bounds the maximum; a call without one makes the maximum unknown.
    """
    cat = prices or catalog()
    groups: dict[tuple[int, str], list[PlannedCall]] = {}
    for call in calls:
        groups.setdefault((id(call.provider), call.model_id), []).append(call)
    notes: list[str] = []
    out: list[GroupEstimate] = []
    for (_, model), members in groups.items():
        provider = members[0].provider
        sure = [c for c in members if not c.optional]
        maybe = [c for c in members if c.optional]
        if use_tokenizer:
            prompt, method = await _count(provider, model, sure, notes) if sure else (0, LOCAL_METHOD)
            extra, method2 = await _count(provider, model, maybe, notes) if maybe else (0, method)
            method = method if method == method2 or not sure else f"{method}; {method2}"
        else:
            prompt, extra, method = (sum(local_token_count(c.messages) for c in sure),
                                     sum(local_token_count(c.messages) for c in maybe), LOCAL_METHOD)
        caps = [c.max_output_tokens for c in members]
        cap = None if any(c is None for c in caps) else sum(int(c or 0) for c in caps)
        carried = sum(c.carried_outputs * int(c.max_output_tokens or 0) for c in members)
        price = cat.lookup(provider.name, model, provider.base_url or None)
        lo, hi = _costs(price, prompt, extra, cap, carried)
        out.append(GroupEstimate(provider.name, model, len(members), prompt, method, price, cap, carried, lo, hi,
                                 len(maybe), extra))
    return Estimate(out, notes)


def estimate_run(calls: Sequence[PlannedCall], *, prices: PriceCatalog | None = None,
                 use_tokenizer: bool = True) -> Estimate:
    """Sync twin of `aestimate_run` (works inside a running kernel)."""
    from llm_magics.sync import run_sync

    return run_sync(aestimate_run(calls, prices=prices, use_tokenizer=use_tokenizer))
