"""Send one prompt to several models at once and compare them: TTFT, latency, tokens/s, outputs.

    comp = compare("Explain CRDTs in 3 sentences",
                   ["kimi-k2-0905-preview", "kimi-k2-turbo-preview", "kimi:kimi-k2-thinking"], repeat=3)
    comp.best("tokens_per_s"); comp.sorted_by("ttft"); comp.to_markdown()

A target is ``provider:model`` (only when the prefix is a registered provider, so Ollama IDs such as
``llama3:8b`` stay model IDs), a model ID of the default provider, a bare provider name (its default
model), or a ``(Provider, model)`` pair. All targets run concurrently (the provider core's rate limiter
bounds them); a target's repeats run one after another so they do not slow each other down. A target
that fails (unknown model ID, missing key, server error) gets its own error row, with did-you-mean
suggestions for model IDs, and the others still run. Metric definitions: `llm_magics.comparison.stats`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from llm_magics.comparison.stats import (
    METRICS,
    Attempt,
    Stat,
    canonical_metric,
    ranked,
    summarize,
    summary_line,
)
from llm_magics.sync import sync_twin
from llm_magics.errors import ConfigurationError
from llm_magics.providers.base import Cost

if TYPE_CHECKING:
    from llm_magics.pricing.cost import CostTotal
    from llm_magics.events import EventSink
    from llm_magics.history.store import History
    from llm_magics.providers.base import Provider

__all__ = ["Comparison", "TargetResult", "Attempt", "Stat", "acompare", "compare", "parse_target"]

#: What `targets` may hold: "provider:model", "model-id", "provider", or (Provider, model | None).
Target = Union[str, "Provider", tuple["Provider", Union[str, None]]]


@dataclass
class TargetResult:
    """One row of the comparison: a target and its attempts (one per `repeat`)."""

    target: str
    provider: str
    model: str
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.provider}:{self.model}"

    @property
    def ok(self) -> bool:
        return any(a.ok for a in self.attempts)

    @property
    def successful(self) -> list[Attempt]:
        return [a for a in self.attempts if a.ok]

    @property
    def status(self) -> str:
        """pending | done | error | interrupted."""
        if not self.attempts:
            return "pending"
        if self.ok:
            return "done"
        return "interrupted" if self.attempts[-1].error_type == "Interrupted" else "error"

    def stat(self, metric: str) -> Stat | None:
        """Median and spread of `metric` over the successful attempts."""
        attr = METRICS[canonical_metric(metric)][0]
        return summarize(getattr(a, attr) for a in self.successful)

    def value(self, metric: str) -> float | None:
        """The median of `metric` (None when no attempt succeeded or it was not reported)."""
        s = self.stat(metric)
        return s.median if s else None

    @property
    def ttft_s(self) -> float | None:
        return self.value("ttft")

    @property
    def latency_s(self) -> float | None:
        return self.value("latency")

    @property
    def tokens_per_s(self) -> float | None:
        return self.value("tokens_per_s")

    @property
    def output_tokens(self) -> float | None:
        return self.value("output_tokens")

    @property
    def reasoning_tokens(self) -> float | None:
        return self.value("reasoning_tokens")

    def _shown(self) -> Attempt | None:
        ok = self.successful
        return ok[0] if ok else (self.attempts[0] if self.attempts else None)

    @property
    def text(self) -> str:
        """The first successful attempt's answer (else the first attempt's partial text)."""
        a = self._shown()
        return a.text if a else ""

    @property
    def reasoning(self) -> str:
        a = self._shown()
        return a.reasoning if a else ""

    @property
    def finish_reason(self) -> str | None:
        a = self._shown()
        return a.finish_reason if a else None

    @property
    def error(self) -> str | None:
        """The error when no attempt succeeded (the last attempt's)."""
        return None if self.ok or not self.attempts else self.attempts[-1].error

    @property
    def hint(self) -> str | None:
        return None if self.ok or not self.attempts else self.attempts[-1].hint

    @property
    def suggestions(self) -> list[str]:
        out: list[str] = []
        for a in self.attempts:
            out += [s for s in a.suggestions if s not in out]
        return out

    def stats(self) -> dict[str, Stat | None]:
        return {m: self.stat(m) for m in METRICS}

    @property
    def cost(self) -> Cost:
        """Cost per run: the median over successful attempts, unknown when any of them is unpriced."""
        costs = [a.cost for a in self.successful]
        if not costs or any(c is None or not c.known for c in costs) or len({c.currency for c in costs if c}) != 1:
            return Cost()
        stat = self.stat("cost")
        return Cost(stat.median, str(costs[0].currency if costs[0] else "USD"), True) if stat else Cost()

    @property
    def cost_total(self) -> CostTotal:
        """Every attempt that reported usage (failed ones included): what this target cost in all."""
        from llm_magics.pricing.cost import CostTotal

        return CostTotal.of(a.cost for a in self.attempts if a.usage is not None and a.cost is not None)

    def summary(self) -> str:
        """'TTFT 0.31 s · 2.4 s · 412 tok · 171 tok/s · $0.0012', or the error."""
        from llm_magics.pricing.cost import format_cost

        if not self.ok:
            return self.error or self.status
        line = summary_line(self.stats(), len(self.successful), len(self.attempts))
        priced = any(a.usage is not None and a.cost is not None for a in self.successful)
        return f"{line} · {format_cost(self.cost)}" if priced else line

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "error": self.error,
            "suggestions": self.suggestions,
            "stats": {m: (s.to_dict() if s else None) for m, s in self.stats().items()},
            "attempts": [a.to_dict() for a in self.attempts],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TargetResult:
        return cls(
            target=str(d.get("target", "")),
            provider=str(d.get("provider", "")),
            model=str(d.get("model", "")),
            attempts=[Attempt.from_dict(a) for a in d.get("attempts", [])],
        )


@dataclass
class Comparison:
    """The result of `compare`: rows in the order the targets were given, plus the prompt and settings.

    Displays as a table (HTML in notebooks, plain text in terminals) followed by the outputs side by
    side; the best value of each speed metric is marked. `sorted_by(metric)` reorders the rows.
    """

    prompt: str
    rows: list[TargetResult] = field(default_factory=list)
    id: str = ""
    system: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    status: str = "running"
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None

    kind = "compare"

    @property
    def results(self) -> list[TargetResult]:
        return self.rows

    @property
    def title(self) -> str:
        line = next((ln.strip() for ln in self.prompt.splitlines() if ln.strip()), "")
        return line if len(line) <= 80 else line[:79] + "…"

    def __getitem__(self, key: int | str) -> TargetResult:
        """`comp[0]` or `comp["kimi-k2-turbo-preview"]` (target as given, or provider:model)."""
        if isinstance(key, int):
            return self.rows[key]
        for row in self.rows:
            if key in (row.target, row.label, row.model):
                return row
        from llm_magics.providers.suggest import did_you_mean

        hint = did_you_mean(key, [r.target for r in self.rows]) or None
        raise KeyError(f"No target '{key}' in this comparison. {hint or ''}".strip())

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def cost(self) -> CostTotal:
        """What the whole comparison cost (every attempt of every target, per currency)."""
        from llm_magics.pricing.cost import CostTotal

        return CostTotal.of(a.cost for r in self.rows for a in r.attempts if a.usage is not None and a.cost is not None)

    def best(self, metric: str = "tokens_per_s") -> TargetResult | None:
        """The row with the best median (lowest TTFT/latency/tokens, highest tokens/s); None if no row has it."""
        metric = canonical_metric(metric)
        rows = self.sorted_by(metric).rows
        return rows[0] if rows and rows[0].value(metric) is not None else None

    def sorted_by(self, metric: str, *, reverse: bool = False) -> Comparison:
        """A view of this comparison with rows ordered best first by `metric` (failed rows last)."""
        metric = canonical_metric(metric)
        higher = METRICS[metric][1]
        order = ranked([r.value(metric) for r in self.rows], higher)
        if reverse:
            present = [i for i in order if self.rows[i].value(metric) is not None]
            order = present[::-1] + order[len(present):]
        view = Comparison(self.prompt, [self.rows[i] for i in order], self.id, self.system, dict(self.params),
                          self.status, self.created_at, self.finished_at)
        return view

    # -- rendering ------------------------------------------------------------------------------
    def table(self) -> str:
        """The plain-text table only."""
        from llm_magics.comparison.render import text_table

        return text_table(self)

    def to_markdown(self) -> str:
        from llm_magics.comparison.render import to_markdown

        return to_markdown(self)

    def _repr_html_(self) -> str:
        from llm_magics.comparison.render import to_html

        return to_html(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        from llm_magics.comparison.render import to_text

        return to_text(self)

    def __repr__(self) -> str:
        return str(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    # -- data -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "prompt": self.prompt,
            "system": self.system,
            "params": dict(self.params),
            "status": self.status,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "rows": [r.to_dict() for r in self.rows],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Comparison:
        return cls(
            prompt=str(d.get("prompt", "")),
            rows=[TargetResult.from_dict(r) for r in d.get("rows", [])],
            id=str(d.get("id", "")),
            system=d.get("system"),
            params=dict(d.get("params") or {}),
            status=str(d.get("status", "done")),
            created_at=float(d.get("created_at") or 0.0),
            finished_at=d.get("finished_at"),
        )

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


def parse_target(target: str, default_provider: str) -> tuple[str, str | None]:
    """'kimi:kimi-k2-thinking' → ('kimi', 'kimi-k2-thinking'); 'llama3:8b' → (default, 'llama3:8b').

    The prefix is a provider only when it is registered; a bare provider name (or 'name:') means
    that provider's default model (None).
    """
    from llm_magics.providers.registry import PROVIDERS

    text = target.strip()
    if not text:
        raise ConfigurationError("Empty compare target.", hint="Targets look like kimi:kimi-k2-0905-preview.")
    prefix, sep, rest = text.partition(":")
    if sep and prefix in PROVIDERS:
        return PROVIDERS[prefix].name, rest.strip() or None
    if not sep and text in PROVIDERS:
        return PROVIDERS[text].name, None
    return default_provider, text


async def acompare(
    prompt: str,
    targets: Sequence[Target] | str,
    *,
    repeat: int = 1,
    temperature: float | None = None,
    max_tokens: int | None = None,
    system: str | None = None,
    on_event: EventSink | None = None,
    history: History | bool | None = None,
) -> Comparison:
    """Run `prompt` against every target concurrently; returns the filled-in `Comparison`.

    `history`: a `History`, None/True for the default one, False to not store the run.
    On cancellation the partial comparison is saved (status "interrupted") and CancelledError re-raised.
    """
    from llm_magics.comparison.run import run_comparison

    return await run_comparison(
        prompt, targets, repeat=repeat, temperature=temperature, max_tokens=max_tokens,
        system=system, on_event=on_event, history=history,
    )


compare = sync_twin(acompare, "compare")
