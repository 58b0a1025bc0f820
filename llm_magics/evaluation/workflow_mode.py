"""Workflow quality: each item's rendered template is the input of a whole workflow, run per target.

Every step of the workflow runs on the target's provider and model (that is what is being
evaluated), keeping each step's own temperature and output cap; the scorer reads the final
step's output, or the step named with `step=` / `--step`. One workflow run is one "call" of the
eval: its usage and cost are the sum over steps, its latency the wall time of the whole run, its
TTFT the first step's. A step that fails makes the call an error (never a wrong answer). These
per-item runs are not stored as workflow runs of their own: the eval stores each result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llm_magics.errors import ConfigurationError
from llm_magics.events import Event, Waiting, null_sink

if TYPE_CHECKING:
    from llm_magics.personas.model import Persona
    from llm_magics.providers.base import Usage
    from llm_magics.workflow.spec import WorkflowSpec

__all__ = ["WorkflowMode", "WorkflowOutcome"]


@dataclass
class WorkflowOutcome:
    output: str
    reasoning: str
    usage: Usage | None
    ttft_s: float | None
    latency_s: float
    cost: float | None
    currency: str | None
    error: str | None
    finish_reason: str | None


class WorkflowMode:
    """A validated workflow plus the step to score; `run` executes it once for one target and input."""

    def __init__(self, workflow: Any, step: str | None = None) -> None:
        from llm_magics.workflow.api import load_workflow

        spec: WorkflowSpec = load_workflow(workflow)
        if len(spec.inputs) != 1:
            raise ConfigurationError(
                f"Workflow '{spec.name}' has {len(spec.inputs)} inputs ({', '.join(spec.inputs)}); "
                "an eval feeds each item's rendered template to exactly one.",
                hint="Use a workflow with a single input (like security-audit).",
            )
        self.spec = spec
        self.step = step or spec.order()[-1]
        spec.step(self.step)  # unknown step → ConfigurationError with did-you-mean
        self.personas = self._personas()

    def _personas(self) -> dict[str, Persona | None]:
        from llm_magics.personas.model import get_persona

        out: dict[str, Persona | None] = {}
        for s in self.spec.steps:
            out[s.id] = get_persona(s.persona) if s.persona else None
        return out

    @property
    def name(self) -> str:
        return self.spec.name

    def system_prompts(self) -> list[str]:
        return [p.system_prompt for p in self.personas.values() if p is not None]

    async def run(self, provider: Any, model: str, text: str, params: dict[str, Any],
                  on_wait: Callable[[Waiting], None] | None = None) -> WorkflowOutcome:
        """Run the workflow once; `on_wait` gets its steps' rate-limit waits (pane = step id)."""

        def sink(event: Event) -> None:
            if on_wait is not None and isinstance(event, Waiting):
                on_wait(event)
        from llm_magics.history.store import new_run_id
        from llm_magics.workflow.execute import Target, execute
        from llm_magics.workflow.run import StepResult, WorkflowRun

        spec = self.spec
        targets = {}
        for s in spec.steps:
            p: dict[str, Any] = {}
            for key in ("temperature", "max_tokens"):
                value = getattr(s, key)
                value = value if value is not None else params.get(key)
                value = value if value is not None else getattr(spec, key)
                if value is not None:
                    p[key] = value
            targets[s.id] = Target(provider, model, p)
        run = WorkflowRun(
            id=new_run_id(), workflow=spec.name, spec_yaml=spec.to_yaml(), inputs={spec.inputs[0]: text},
            steps={sid: StepResult(sid) for sid in spec.order()}, description=spec.description,
        )
        run._spec = spec
        t0 = time.perf_counter()
        await execute(run, spec, targets=targets, personas=self.personas, on_event=sink if on_wait else null_sink,
                      history=None)
        latency = time.perf_counter() - t0
        steps = [run.steps[sid] for sid in spec.order()]
        first_ttft = next((s.ttft_s for s in steps if s.ttft_s is not None), None)
        usage = run.usage if any(s.usage for s in steps) else None
        costs: list[Any] = [getattr(s, "cost", None) for s in steps if s.usage is not None]
        amount: float | None = None
        currency: str | None = None
        if costs and all(c is not None and c.known and c.amount is not None for c in costs):
            currencies = {str(c.currency) for c in costs}
            if len(currencies) == 1:
                amount, currency = float(sum(float(c.amount) for c in costs)), currencies.pop()
        scored = run.steps[self.step]
        error = None
        if scored.status != "done":
            failed = next((s for s in steps if s.status == "failed"), None)
            error = (f"step '{failed.id}' failed: {failed.error}" if failed is not None
                     else f"step '{self.step}' did not finish ({scored.status})")
        return WorkflowOutcome(scored.output, scored.reasoning, usage, first_ttft, latency, amount, currency, error,
                               "stop" if error is None else None)
