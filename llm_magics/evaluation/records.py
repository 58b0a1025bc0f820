"""One evaluated call: what was sent to whom, what came back, how it scored, what it cost.

A call ends in exactly one of three states, and the statistics keep them apart:

- **scored** — the model answered and the scorer graded it (`score` is set);
- **error** — the call failed (HTTP error, timeout, refused): never counted as a wrong answer;
- **scoring error** — the model answered but the scorer raised; the answer is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from llm_magics.providers.base import Cost, Usage

__all__ = ["CallResult", "CallKey"]

#: (target label, item index, repeat index)
CallKey = tuple[str, int, int]


@dataclass
class CallResult:
    target: str
    item: int
    repeat: int
    output: str = ""
    reasoning: str = ""
    score: float | None = None
    #: The answer the scorer extracted (majority@k and consistency vote on it).
    key: str | None = None
    #: Why the scorer gave what it gave, when it says (judge reason, schema error, missed CWE IDs).
    reason: str | None = None
    error: str | None = None
    error_type: str | None = None
    scoring_error: str | None = None
    usage: Usage | None = None
    ttft_s: float | None = None
    latency_s: float | None = None
    cost: float | None = None
    currency: str | None = None
    finish_reason: str | None = None
    #: The judge's calls that graded this answer (a re-score after a verdict-less reply adds one):
    #: their tokens and cost, kept apart from the target's. `judge_cost` is None when unpriced.
    judge_calls: int = 0
    judge_prompt_tokens: int = 0
    judge_output_tokens: int = 0
    judge_cost: float | None = None
    judge_currency: str | None = None
    at: float = field(default_factory=time.time)

    def add_judge(self, usage: Usage | None, cost: Cost | None) -> None:
        """Count one judge call that graded this answer (its cost stays unknown once one was unpriced)."""
        amount = cost.amount if cost is not None and cost.known else None
        if self.judge_calls == 0 or self.judge_cost is not None:  # every earlier judge call was priced
            if amount is None or cost is None:
                self.judge_cost = self.judge_currency = None
            else:
                self.judge_cost, self.judge_currency = (self.judge_cost or 0.0) + float(amount), cost.currency
        self.judge_calls += 1
        if usage is not None:
            self.judge_prompt_tokens += usage.prompt_tokens
            self.judge_output_tokens += usage.completion_tokens

    @property
    def call_key(self) -> CallKey:
        return (self.target, self.item, self.repeat)

    @property
    def status(self) -> str:
        """scored | error | scoring_error"""
        if self.error is not None:
            return "error"
        if self.scoring_error is not None:
            return "scoring_error"
        return "scored"

    @property
    def scored(self) -> bool:
        return self.error is None and self.scoring_error is None and self.score is not None

    def to_dict(self) -> dict[str, Any]:
        """Compact: fields at their default are left out (1,800 calls add up)."""
        d: dict[str, Any] = {"target": self.target, "item": self.item, "repeat": self.repeat}
        for name in ("output", "reasoning", "score", "key", "reason", "error", "error_type", "scoring_error",
                     "ttft_s", "latency_s", "cost", "currency", "finish_reason", "judge_cost", "judge_currency"):
            value = getattr(self, name)
            if value not in (None, ""):
                d[name] = value
        if self.judge_calls:
            d.update(judge_calls=self.judge_calls, judge_prompt_tokens=self.judge_prompt_tokens,
                     judge_output_tokens=self.judge_output_tokens)
        u = self.usage
        if u is not None:  # by hand: dataclasses.asdict deep-copies, a cost paid per call
            usage = {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
                     "total_tokens": u.total_tokens}
            for name in ("reasoning_tokens", "cached_tokens", "cache_write_tokens"):
                value = getattr(u, name, None)
                if value is not None:
                    usage[name] = value
            d["usage"] = usage
        d["at"] = self.at
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CallResult:
        names = cls.__dataclass_fields__
        data = {k: v for k, v in d.items() if k in names and k != "usage"}
        data["usage"] = Usage.from_dict(d.get("usage"))
        return cls(**data)
