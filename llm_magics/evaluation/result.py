"""`EvalResult`: every call of an eval, the per-target summary, the paired comparison, exports.

    res.summary                      # one dict per target (score, CI, errors, pass@k, maj@k, latency, tokens, cost)
    res.summary_frame()              # the same as a pandas DataFrame
    res.to_pandas()                  # one row per (target, item, repeat)
    res.compare("kimi:a", "kimi:b")  # paired test on the items both answered
    res.resume()                     # send only the calls still missing (and retry failed ones)
    res.to_markdown(); res.to_json(); res.to_csv(); res.plot()

Stored in the history as kind "eval": the run's settings and dataset rows in the runs table, each
call as its own row (`llm_magics.history.calls`), so a run loads back — and resumes — from
its id alone.
"""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_magics.errors import ConfigurationError
from llm_magics.evaluation import stats
from llm_magics.evaluation.data import Item
from llm_magics.evaluation.records import CallKey, CallResult
from llm_magics.evaluation.summary import compare_calls, target_summary
from llm_magics.providers.base import Cost

__all__ = ["EvalResult", "PairedResult", "CALL_COLUMNS"]

#: Columns of `to_pandas()` / `to_csv()`, one row per call.
CALL_COLUMNS = (
    "target", "item", "repeat", "status", "output", "score", "answer", "reason", "error", "prompt_tokens",
    "cached_tokens", "output_tokens", "reasoning_tokens", "ttft_s", "latency_s", "cost", "currency", "finish_reason",
    "judge_cost",
)


@dataclass(frozen=True)
class PairedResult:
    """`a` vs `b` on the items both answered: the difference (a − b), its 95% CI and a p-value."""

    a: str
    b: str
    paired: stats.Paired
    items: tuple[int, ...]
    percent: bool = True

    def __getattr__(self, name: str) -> Any:  # diff, low, high, p_value, test, n, a_only, b_only
        return getattr(self.__dict__["paired"], name)

    def sentence(self) -> str:
        p = self.paired
        unit = " pts" if self.percent else ""
        k = 100.0 if self.percent else 1.0
        test = "exact McNemar" if p.test == "mcnemar-exact" else "paired bootstrap"
        extra = f"; {p.a_only} vs {p.b_only} discordant" if p.a_only is not None else ""
        pval = "< 0.001" if p.p_value < 0.001 else f"= {p.p_value:.3g}"
        return (f"Paired: {self.a} − {self.b} = {k * p.diff:+.1f}{unit} [{k * p.low:+.1f}, {k * p.high:+.1f}], "
                f"p {pval} ({test} on {p.n} items{extra})")

    def to_dict(self) -> dict[str, Any]:
        p = self.paired
        return {"a": self.a, "b": self.b, "n": p.n, "mean_a": p.mean_a, "mean_b": p.mean_b, "diff": p.diff,
                "ci_low": p.low, "ci_high": p.high, "p_value": p.p_value, "test": p.test,
                "a_only": p.a_only, "b_only": p.b_only}

    def __str__(self) -> str:
        return self.sentence()

    __repr__ = __str__

    def _repr_markdown_(self) -> str:
        return self.sentence()


@dataclass
class EvalResult:
    """One evaluation run: its settings, its items and every call's result (see the module docstring)."""

    id: str
    template: str
    targets: list[str]
    items: list[Item]
    scorer: str = "exact"
    expected: str | None = "answer"
    repeat: int = 1
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    judge: str | None = None
    workflow: str | None = None
    workflow_yaml: str | None = None
    step: str | None = None
    dataset: str = ""
    seed: int = 0
    status: str = "running"  # running | done | interrupted | error | stopped
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    notes: list[str] = field(default_factory=list)
    calls: dict[CallKey, CallResult] = field(default_factory=dict)
    #: label → {"provider", "model", "given"}: how to rebuild each target on resume.
    target_specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The scorer as a string that `get_scorer` accepts again; None for a Python function.
    scorer_spec: str | None = "exact"
    scorer_needs_expected: bool = True
    #: Where the call rows live (the history file), so a loaded run finds them.
    calls_db: str | None = None
    concurrency: int | None = None
    _scorer: Any = field(default=None, repr=False, compare=False)
    _history: Any = field(default=None, repr=False, compare=False)
    _cache: tuple[int, str, list[dict[str, Any]]] | None = field(default=None, repr=False, compare=False)
    _rev: int = field(default=0, repr=False, compare=False)
    _by_index: dict[int, Item] | None = field(default=None, repr=False, compare=False)

    kind = "eval"

    # ---- shape ---------------------------------------------------------------------------------

    @property
    def title(self) -> str:
        name = Path(self.dataset).name if self.dataset and "/" in self.dataset else (self.dataset or "data")
        what = f"workflow {self.workflow} · " if self.workflow else ""
        return f"Eval · {what}{name} · {len(self.items)} items × {self.repeat} · {len(self.targets)} targets"

    @property
    def planned(self) -> int:
        return len(self.targets) * len(self.items) * self.repeat

    def planned_keys(self) -> list[CallKey]:
        """Every (target, item, repeat), repeat-major so partial results cover all targets evenly."""
        return [(t, it.index, r) for r in range(self.repeat) for it in self.items for t in self.targets]

    def missing(self, *, retry_errors: bool = True) -> list[CallKey]:
        """Calls with no stored result (and, with `retry_errors`, calls that failed)."""
        out = []
        for key in self.planned_keys():
            c = self.calls.get(key)
            if c is None or (retry_errors and c.error is not None):
                out.append(key)
        return out

    def missing_count(self) -> int:
        return len(self.missing(retry_errors=False))

    def add(self, call: CallResult) -> None:
        """Store (or replace) one call's result."""
        self.calls[call.call_key] = call
        self._rev += 1

    def calls_for(self, target: str) -> list[CallResult]:
        return [c for c in self.calls.values() if c.target == target]

    def item(self, index: int) -> Item:
        """The item with this dataset index (constant time: evals look one up per call)."""
        by_index = self._by_index
        if by_index is None or len(by_index) != len(self.items):
            by_index = self._by_index = {it.index: it for it in self.items}
        return by_index[index]

    def _label(self, name: str) -> str:
        if name in self.targets:
            return name
        for label, spec in self.target_specs.items():
            if name in (spec.get("given"), spec.get("model")):
                return label
        from llm_magics.providers.suggest import did_you_mean

        hint = did_you_mean(name, self.targets) or "Targets: " + ", ".join(self.targets) + "."
        raise ConfigurationError(f"No target '{name}' in eval {self.id}.", hint=hint)

    # ---- statistics ----------------------------------------------------------------------------

    @property
    def summary(self) -> list[dict[str, Any]]:
        """One row per target, in target order (see `llm_magics.evaluation.summary` for definitions)."""
        if self._cache is not None and self._cache[:2] == (self._rev, self.status):
            return self._cache[2]
        rows = [self._row(t, fast=False) for t in self.targets]
        self._cache = (self._rev, self.status, rows)
        return rows

    def live_summary(self) -> list[dict[str, Any]]:
        """The summary without bootstrap resampling (cheap enough to refresh 4 times a second)."""
        return [self._row(t, fast=True) for t in self.targets]

    def _row(self, target: str, *, fast: bool) -> dict[str, Any]:
        return target_summary(target, self.calls_for(target), planned=len(self.items) * self.repeat,
                              repeat=self.repeat, seed=self.seed, fast=fast)

    def total_cost(self) -> Cost:
        """What the eval cost: every target call plus the judge's calls that graded them. Unknown
        (amount None) when a billed call is unpriced or currencies differ — never a partial sum."""
        from llm_magics.pricing.cost import CostTotal

        total = CostTotal()
        for c in self.calls.values():
            if c.usage is not None:
                total.add(Cost(c.cost, c.currency or "USD", True) if c.cost is not None else None)
            if c.judge_calls:
                total.add(Cost(c.judge_cost, c.judge_currency or "USD", True) if c.judge_cost is not None else None)
        return total.single()

    def compare(self, a: str, b: str) -> PairedResult:
        """`a` − `b` on the items both answered: exact McNemar for pass/fail, else a paired bootstrap."""
        la, lb = self._label(a), self._label(b)
        if la == lb:
            raise ConfigurationError(f"compare() needs two different targets, got '{la}' twice.")
        try:
            paired, items = compare_calls(self.calls_for(la), self.calls_for(lb), seed=self.seed)
        except ValueError:
            raise ConfigurationError(f"{la} and {lb} have no item scored for both, so there is nothing to pair.",
                                     hint="Resume the run (`res.resume()`) or check the errors in res.to_pandas().") from None
        scores = [c.score for c in self.calls.values() if c.score is not None]
        pct = all(0.0 <= s <= 1.0 for s in scores)
        return PairedResult(la, lb, paired, tuple(items), pct)

    # ---- exports -------------------------------------------------------------------------------

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per call (the rows of `to_pandas`), in (target order, item, repeat) order."""
        order = {t: i for i, t in enumerate(self.targets)}
        out = []
        for c in sorted(self.calls.values(), key=lambda c: (order.get(c.target, 99), c.item, c.repeat)):
            u = c.usage
            out.append({
                "target": c.target, "item": c.item, "repeat": c.repeat, "status": c.status, "output": c.output,
                "score": c.score, "answer": c.key, "reason": c.reason, "error": c.error or c.scoring_error,
                "prompt_tokens": u.prompt_tokens if u else None, "cached_tokens": u.cached_tokens if u else None,
                "output_tokens": u.completion_tokens if u else None, "reasoning_tokens": u.reasoning_tokens if u else None,
                "ttft_s": c.ttft_s, "latency_s": c.latency_s, "cost": c.cost, "currency": c.currency,
                "finish_reason": c.finish_reason, "judge_cost": c.judge_cost,
            })
        return out

    def to_pandas(self) -> Any:
        """One row per (target, item, repeat): output, score, error, tokens, TTFT, latency, cost."""
        pd = _pandas("to_pandas()")
        return pd.DataFrame(self.to_records(), columns=list(CALL_COLUMNS))

    def summary_frame(self) -> Any:
        """`summary` as a pandas DataFrame indexed by target."""
        pd = _pandas("summary_frame()")
        return pd.DataFrame(self.summary).set_index("target")

    def to_csv(self, path: str | Path | None = None) -> str:
        """The per-call rows as CSV (written to `path` when given); returns the text."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(CALL_COLUMNS), lineterminator="\n")
        w.writeheader()
        for rec in self.to_records():
            w.writerow({k: "" if v is None else v for k, v in rec.items()})
        text = buf.getvalue()
        if path is not None:
            Path(path).expanduser().write_text(text, encoding="utf-8")
        return text

    def to_dict(self, *, calls: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "kind": self.kind, "id": self.id, "template": self.template, "targets": list(self.targets),
            "target_specs": self.target_specs, "items": [{"index": it.index, "row": dict(it.row)} for it in self.items],
            "scorer": self.scorer, "scorer_spec": self.scorer_spec, "scorer_needs_expected": self.scorer_needs_expected,
            "expected": self.expected, "repeat": self.repeat, "system": self.system, "temperature": self.temperature,
            "max_tokens": self.max_tokens, "judge": self.judge, "workflow": self.workflow,
            "workflow_yaml": self.workflow_yaml, "step": self.step, "dataset": self.dataset, "seed": self.seed,
            "concurrency": self.concurrency, "status": self.status, "created_at": self.created_at,
            "finished_at": self.finished_at, "notes": list(self.notes), "calls_db": self.calls_db,
        }
        if calls:
            d["calls"] = [c.to_dict() for c in self.calls.values()]
        if self.status != "running":
            d["summary"] = self.summary
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EvalResult:
        """Rebuild a run; its calls come from `d["calls"]`, else from the history file it names."""
        names = {f for f in cls.__dataclass_fields__ if not f.startswith("_")} - {"items", "calls"}
        res = cls(**{k: v for k, v in d.items() if k in names},
                  items=[Item(int(i["index"]), dict(i["row"])) for i in d.get("items", [])])
        rows = d.get("calls")
        if rows is None and d.get("calls_db") and d.get("id"):
            from llm_magics.history.calls import CallLog

            path = Path(str(d["calls_db"]))
            if not path.exists():
                from llm_magics.history.store import default_history

                path = default_history().path
            rows = [data for _, _, _, data in CallLog(path).read(str(d["id"]))]
        for row in rows or []:
            res.add(CallResult.from_dict(row))
        return res

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, default=str)

    def to_markdown(self) -> str:
        from llm_magics.evaluation.render import to_markdown

        return to_markdown(self)

    def plot(self, x: str = "auto") -> Any:
        """A matplotlib Figure: score with 95% CI per target against cost (or output tokens)."""
        from llm_magics.evaluation.render import plot

        return plot(self, x=x)

    # ---- display -------------------------------------------------------------------------------

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        from llm_magics.evaluation.render import to_html

        return to_html(self)

    def __str__(self) -> str:
        from llm_magics.evaluation.render import to_text

        return to_text(self)

    def __repr__(self) -> str:
        return f"<EvalResult {self.id} {self.status}: {len(self.calls)}/{self.planned} calls, {len(self.targets)} targets>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    # ---- resume --------------------------------------------------------------------------------

    async def aresume(self, *, scorer: Any = None, concurrency: int | None = None, on_event: Any = None,
                      history: Any = None, retry_errors: bool = True) -> EvalResult:
        """Send only the calls still missing (and, by default, retry failed ones); returns self."""
        from llm_magics.evaluation.run import resume_eval

        return await resume_eval(self, scorer=scorer, concurrency=concurrency, on_event=on_event,
                                 history=history, retry_errors=retry_errors)

    def resume(self, *, scorer: Any = None, concurrency: int | None = None, on_event: Any = None,
               history: Any = None, retry_errors: bool = True) -> EvalResult:
        """Blocking twin of `aresume`."""
        from llm_magics.sync import run_sync

        return run_sync(self.aresume(scorer=scorer, concurrency=concurrency, on_event=on_event,
                                     history=history, retry_errors=retry_errors))


def _pandas(what: str) -> Any:
    try:
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        raise ConfigurationError(f"{what} needs pandas, which is not installed.",
                                 hint="pip install pandas  (res.summary and res.to_records() need nothing)") from None
    return pd
