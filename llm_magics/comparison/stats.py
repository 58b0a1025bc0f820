"""Numbers for `%%compare`: one attempt's metrics, their median and spread, and how to format them.

Definitions (the same everywhere they are shown):

- **TTFT**: seconds from sending the request to the first streamed token, reasoning or text
  (a thinking model's first reasoning token counts: it is the first sign of life).
- **latency**: seconds from sending the request to the end of the stream.
- **output tokens**: the provider's `usage.completion_tokens` (reasoning tokens included, as Moonshot
  and OpenAI count them); when the server reports no usage, the number of streamed content pieces,
  flagged `tokens_estimated`.
- **tokens/s**: output tokens ÷ (latency − TTFT), i.e. generation speed once the stream has started,
  so a slow queue does not read as a slow model. None when that interval is zero.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from llm_magics.fmt import fmt_rate, fmt_seconds
from llm_magics.errors import ConfigurationError
from llm_magics.providers.base import Cost, Usage

__all__ = [
    "Attempt", "Stat", "METRICS", "canonical_metric", "summarize", "fmt_seconds", "fmt_metric",
    "summary_line", "ranked",
]

#: metric → (Attempt attribute, higher is better?, unit). Token counts: fewer is better (cheaper).
METRICS: dict[str, tuple[str, bool, str]] = {
    "ttft": ("ttft_s", False, "s"),
    "latency": ("latency_s", False, "s"),
    "tokens_per_s": ("tokens_per_s", True, "tok/s"),
    "output_tokens": ("output_tokens", False, "tok"),
    "reasoning_tokens": ("reasoning_tokens", False, "tok"),
    "cost": ("cost_amount", False, ""),  # per run, in the price currency (None when unpriced)
}

_ALIASES = {
    "ttft_s": "ttft", "first_token": "ttft", "time_to_first_token": "ttft",
    "latency_s": "latency", "total": "latency", "total_s": "latency", "duration": "latency",
    "tok/s": "tokens_per_s", "tokens/s": "tokens_per_s", "tps": "tokens_per_s", "speed": "tokens_per_s",
    "throughput": "tokens_per_s", "tokens": "output_tokens", "tok": "output_tokens",
    "completion_tokens": "output_tokens", "reasoning": "reasoning_tokens",
    "price": "cost", "cost_per_run": "cost", "$": "cost",
}


def canonical_metric(name: str) -> str:
    """'tok/s' → 'tokens_per_s'; unknown names raise with did-you-mean."""
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, key)
    if key in METRICS:
        return key
    from llm_magics.providers.suggest import did_you_mean

    hint = did_you_mean(name, [*METRICS, *_ALIASES]) or "Metrics: " + ", ".join(METRICS) + "."
    raise ConfigurationError(f"Unknown metric '{name}'.", hint=hint)


@dataclass
class Attempt:
    """One request to one target (a target runs `repeat` attempts, one after another)."""

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    ttft_s: float | None = None
    latency_s: float | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    tokens_estimated: bool = False
    error: str | None = None
    error_type: str | None = None
    hint: str | None = None
    suggestions: list[str] = field(default_factory=list)
    usage: Usage | None = None
    cost: Cost | None = None  # as priced when the attempt finished (llm_magics.pricing)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def cost_amount(self) -> float | None:
        return self.cost.amount if self.cost is not None and self.cost.known else None

    @property
    def tokens_per_s(self) -> float | None:
        """Output tokens ÷ (latency − TTFT); see the module docstring."""
        if not self.ok or self.output_tokens is None or self.latency_s is None or self.ttft_s is None:
            return None
        span = self.latency_s - self.ttft_s
        return self.output_tokens / span if span > 1e-9 else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tokens_per_s"] = self.tokens_per_s
        d["usage"] = self.usage.to_dict() if self.usage else None
        d["cost"] = self.cost.to_dict() if self.cost else None
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Attempt:
        names = cls.__dataclass_fields__
        data = {k: v for k, v in d.items() if k in names}
        data["usage"] = Usage.from_dict(d.get("usage"))
        data["cost"] = Cost.from_dict(d["cost"]) if isinstance(d.get("cost"), dict) else None
        return cls(**data)


@dataclass(frozen=True)
class Stat:
    """Median and spread of one metric over a target's successful attempts."""

    median: float
    min: float
    max: float
    stdev: float | None
    n: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(values: Iterable[float | int | None]) -> Stat | None:
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return None
    stdev = statistics.stdev(vals) if len(vals) > 1 else None
    return Stat(statistics.median(vals), min(vals), max(vals), stdev, len(vals))


def _fmt_value(metric: str, x: float) -> str:
    if metric in ("ttft", "latency"):
        return fmt_seconds(x)
    if metric == "tokens_per_s":
        return fmt_rate(x)
    if metric == "cost":
        return f"{x:.4f}"
    return f"{x:.0f} tok"


def _unit(text: str) -> str:
    """'0.31 s' → 's', '171 tok/s' → 'tok/s'; '' for a bare number (cost)."""
    return text.rsplit(" ", 1)[1] if " " in text else ""


def fmt_metric(metric: str, stat: Stat | None, *, unit: bool = True) -> str:
    """'0.31 s', or with repeats '0.31 s (0.29–0.35 s)' (the unit once when min and max share it;
    none with ``unit=False``); '—' when missing."""
    if stat is None:
        return "—"
    main = _fmt_value(metric, stat.median)
    if not unit:
        main = main.rsplit(" ", 1)[0]
    if stat.n > 1:
        lo, hi = (_fmt_value(metric, v) for v in (stat.min, stat.max))
        if lo != hi:
            if not unit or _unit(lo) == _unit(hi):
                lo = lo.rsplit(" ", 1)[0]
                hi = hi if unit else hi.rsplit(" ", 1)[0]
            main += f" ({lo}–{hi})"
    return main


def summary_line(stats: dict[str, Stat | None], n_ok: int, n_total: int) -> str:
    """'TTFT 0.31 s · 2.4 s · 412 output tok · 171 tok/s' (+ ' · median of 3')."""
    parts = []
    if stats.get("ttft"):
        parts.append("TTFT " + fmt_metric("ttft", stats["ttft"]).split(" (")[0])
    for metric in ("latency", "output_tokens", "tokens_per_s"):
        if stats.get(metric):
            text = fmt_metric(metric, stats[metric]).split(" (")[0]
            parts.append(text.replace(" tok", " output tok") if metric == "output_tokens" else text)
    if n_total > 1:
        parts.append(f"median of {n_ok}" + (f" ({n_total - n_ok} failed)" if n_ok < n_total else ""))
    return " · ".join(parts)


def ranked(values: Sequence[float | None], higher_is_better: bool) -> list[int]:
    """Indexes ordered best first; missing values last, ties kept in input order."""
    present = [(v, i) for i, v in enumerate(values) if v is not None]
    missing = [i for i, v in enumerate(values) if v is None]
    present.sort(key=lambda vi: -vi[0] if higher_is_better else vi[0])
    return [i for _, i in present] + missing
