"""`WorkflowRun` and `StepResult`: a workflow's state, report and stored form.

A run is a plain record (no provider objects, no keys), so it can be saved to history after
every step and rebuilt with `from_dict` to resume: the spec's YAML and the inputs travel with it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llm_magics.fmt import stream_summary
from llm_magics.history.records import UsageRecord
from llm_magics.providers.base import Cost, Usage

if TYPE_CHECKING:
    from llm_magics.pricing.cost import CostTotal
    from llm_magics.workflow.spec import WorkflowSpec
    from llm_magics.events import EventSink
    from llm_magics.providers.base import Provider

__all__ = ["StepResult", "WorkflowRun", "STEP_STATUSES", "RERUN_STATUSES"]

#: pending → running → done | failed | interrupted; skipped when a step it needs failed.
STEP_STATUSES = ("pending", "running", "done", "failed", "skipped", "interrupted")
#: What `resume()` runs again (a "running" step in a stored run means the kernel died mid-step).
RERUN_STATUSES = frozenset({"pending", "running", "failed", "skipped", "interrupted"})
_ICONS = {"done": "✅", "failed": "❌", "skipped": "⏭️", "pending": "⏳", "running": "▶️", "interrupted": "⏸️"}


@dataclass
class StepResult(UsageRecord):
    id: str
    persona: str | None = None  # display label, e.g. "🛡️ Noor Okafor — Security Auditor"
    status: str = "pending"
    output: str = ""
    reasoning: str = ""
    usage: Usage | None = None
    provider: str | None = None
    model: str | None = None
    prompt: str = ""  # the rendered prompt that was sent
    error: str | None = None
    started_at: float | None = None  # epoch seconds
    finished_at: float | None = None
    duration_s: float | None = None
    ttft_s: float | None = None
    #: How many times this step was sent (1 + resumes that re-ran it).
    attempts: int = 0
    #: As priced when the step finished (llm_magics.pricing); None before it ran.
    cost: Cost | None = None

    @property
    def tokens(self) -> int:
        return self.usage.total_tokens if self.usage else 0

    def summary(self) -> str:
        """"TTFT 0.31 s · 2.4 s · 412 tok · 171 tok/s · $0.0012" (what the pane and the step list show)."""
        from llm_magics.pricing.cost import format_cost

        text = stream_summary(self.ttft_s, self.duration_s, self.usage.completion_tokens if self.usage else None)
        if self.usage is not None and self.cost is not None:  # None: the provider was built without prices
            text = f"{text} · {format_cost(self.cost)}" if text else format_cost(self.cost)
        return text


@dataclass
class WorkflowRun:
    """One execution of a workflow: every step's status, output, usage and timing.

    Step failures do not raise: the run ends with ``status == "failed"``, `error` says which step
    failed and how to resume, and finished outputs are kept. ``run.resume()`` re-runs only the
    failed, skipped, pending and interrupted steps. Bad specs or inputs raise ConfigurationError
    before anything is sent.
    """

    id: str
    workflow: str
    spec_yaml: str
    inputs: dict[str, str] = field(default_factory=dict)
    steps: dict[str, StepResult] = field(default_factory=dict)
    status: str = "pending"  # pending | running | done | failed | interrupted
    error: str | None = None
    description: str = ""
    provider: str | None = None
    model: str | None = None
    #: Set only when the run was given a Provider instance, so resume reaches the same server.
    base_url: str | None = None
    created_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    resumes: int = 0
    _spec: WorkflowSpec | None = field(default=None, repr=False, compare=False)

    # ---- access -----------------------------------------------------------------------------

    @property
    def spec(self) -> WorkflowSpec:
        """The spec this run executes (re-read from the stored YAML when loaded from history)."""
        if self._spec is None:
            from llm_magics.workflow.spec import parse_spec

            self._spec = parse_spec(self.spec_yaml, origin=self.workflow)
        return self._spec

    @property
    def ok(self) -> bool:
        return self.status == "done"

    def __getitem__(self, step_id: str) -> StepResult:
        try:
            return self.steps[step_id]
        except KeyError:
            from llm_magics.errors import ConfigurationError
            from llm_magics.providers.suggest import did_you_mean

            raise ConfigurationError(
                f"Run {self.id} has no step '{step_id}'.", hint=did_you_mean(step_id, self.steps) or None
            ) from None

    def __iter__(self) -> Iterator[StepResult]:
        return iter(self.steps.values())

    @property
    def outputs(self) -> dict[str, str]:
        """Step id → output, for finished steps."""
        return {sid: s.output for sid, s in self.steps.items() if s.status == "done"}

    @property
    def output(self) -> str:
        """The last step's output (usually the summary), or "" until it is done."""
        last = list(self.steps.values())[-1] if self.steps else None
        return last.output if last and last.status == "done" else ""

    @property
    def usage(self) -> Usage:
        total = Usage()
        for s in self.steps.values():
            if s.usage:
                total = total + s.usage
        return total

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s or 0.0 for s in self.steps.values())

    @property
    def cost(self) -> CostTotal:
        """What the steps that ran cost (per currency; unpriced steps counted apart)."""
        from llm_magics.pricing.cost import CostTotal

        return CostTotal.of(s.cost for s in self.steps.values() if s.usage is not None and s.cost is not None)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.steps.values():
            out[s.status] = out.get(s.status, 0) + 1
        return out

    def title(self) -> str:
        first = next(iter(self.inputs.values()), "")
        line = " ".join(first.split())
        return f"{self.workflow}: {line[:80]}" if line else self.workflow

    # ---- resume -----------------------------------------------------------------------------

    async def aresume(
        self,
        *,
        provider: str | Provider | None = None,
        model: str | None = None,
        on_event: EventSink | None = None,
    ) -> WorkflowRun:
        """Re-run only failed/skipped/pending/interrupted steps, in place; returns this run."""
        from llm_magics.workflow.api import arun_workflow

        return await arun_workflow(resume=self, provider=provider, model=model, on_event=on_event)

    def resume(
        self,
        *,
        provider: str | Provider | None = None,
        model: str | None = None,
        on_event: EventSink | None = None,
    ) -> WorkflowRun:
        """Synchronous `aresume` (works in Jupyter, IPython and plain Python)."""
        from llm_magics.sync import run_sync

        return run_sync(self.aresume(provider=provider, model=model, on_event=on_event))

    # ---- stored form ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "workflow": self.workflow,
            "description": self.description,
            "status": self.status,
            "error": self.error,
            "inputs": dict(self.inputs),
            "provider": self.provider,
            "model": self.model,
            "base_url": self.base_url,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "resumes": self.resumes,
            "spec_yaml": self.spec_yaml,
            "steps": [s.to_dict() for s in self.steps.values()],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WorkflowRun:
        steps = [StepResult.from_dict(s) for s in d.get("steps", [])]
        return cls(
            id=d["id"],
            workflow=d.get("workflow", "workflow"),
            spec_yaml=d.get("spec_yaml", ""),
            inputs=dict(d.get("inputs") or {}),
            steps={s.id: s for s in steps},
            status=d.get("status", "pending"),
            error=d.get("error"),
            description=d.get("description", ""),
            provider=d.get("provider"),
            model=d.get("model"),
            base_url=d.get("base_url"),
            created_at=d.get("created_at") or time.time(),
            finished_at=d.get("finished_at"),
            resumes=int(d.get("resumes") or 0),
        )

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **({"indent": 2} | kw))

    # ---- rendering --------------------------------------------------------------------------

    def __repr__(self) -> str:
        c = self.counts()
        done = c.get("done", 0)
        return f"<WorkflowRun {self.id} {self.workflow!r} {self.status}: {done}/{len(self.steps)} steps done>"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def to_markdown(self) -> str:
        """A static report: header, step table, any error with the resume hint, each output."""
        lines = [f"## Workflow `{self.workflow}` — {self.status}", ""]
        if self.description:
            lines += [f"*{self.description}*", ""]
        where = f"{self.provider}:{self.model}" if self.provider and self.model else (self.provider or "")
        from llm_magics.fmt import fmt_tokens

        u = self.usage
        meta = [f"run `{self.id}`", f"{len(self.steps)} steps",
                fmt_tokens(u.prompt_tokens, u.completion_tokens, u.reasoning_tokens),
                f"{self.duration_s:.1f} s of model time"]
        if self.cost.calls:
            meta.append(f"cost {self.cost.format()}")
        if where:
            meta.append(where)
        lines += [" · ".join(meta), ""]
        from llm_magics.pricing.cost import format_cost

        lines += ["| # | step | persona | status | time | output tok | cost |", "|---:|:---|:---|:---|---:|---:|---:|"]
        for i, s in enumerate(self.steps.values(), 1):
            t = f"{s.duration_s:.1f} s" if s.duration_s is not None else "—"
            tok = f"{s.usage.completion_tokens:,}" if s.usage else "—"
            cost = format_cost(s.cost) if s.usage and s.cost is not None else "—"
            lines.append(f"| {i} | `{s.id}` | {_cell(s.persona or '—')} | {_ICONS.get(s.status, '')} {s.status} | {t} | {tok} "
                         f"| {cost} |")
        lines.append("")
        if self.error:
            lines += ["> " + self.error.replace("\n", "\n> "), ""]
        for i, s in enumerate(self.steps.values(), 1):
            head = f"### {i}. `{s.id}`" + (f" — {s.persona}" if s.persona else "")
            lines += [head, ""]
            if s.output:
                lines += [s.output.strip(), ""]
            if s.status != "done":
                note = {"skipped": "skipped: a step it needs did not finish",
                        "pending": "not run yet", "running": "did not finish (the run stopped)",
                        "interrupted": "interrupted" + (" — partial text above" if s.output else ""),
                        "failed": "failed"}.get(s.status, s.status)
                if s.error:
                    note += f": {s.error.splitlines()[0]}"
                lines += [f"*{note}*", ""]
        return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
