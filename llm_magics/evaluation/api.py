"""Evaluate model IDs on a labelled dataset: score with 95% CIs, errors apart, latency, tokens, cost.

    res = evaluate("arithmetic", "{{ question }}\\nReply with the number only.",
                   targets=["kimi:kimi-k2.6", "kimi-k2-turbo-preview"], scorer="number", repeat=3)
    res.summary; res.compare("kimi:kimi-k2.6", "kimi:kimi-k2-turbo-preview"); res.to_pandas()

`data` is a DataFrame, a list of dicts, a .jsonl/.csv/.json/.parquet path, or the name of a
shipped set ("arithmetic", "vulnerable-snippets"). Every bad input raises one ConfigurationError
before any request. See `EvalResult` for what comes back and `llm_magics.evaluation.summary` for
how each number is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from llm_magics.evaluation.result import EvalResult
from llm_magics.sync import run_sync, sync_twin

if TYPE_CHECKING:
    from llm_magics.evaluation.plan import EvalPlan
    from llm_magics.events import EventSink
    from llm_magics.history.store import History
    from llm_magics.pricing.estimate import Estimate, PlannedCall

__all__ = ["aevaluate", "evaluate", "aestimate_eval", "estimate_eval", "EvalResult", "aresume_eval", "resume_eval",
           "planned_calls", "estimate_plan"]


def _data(data: Any) -> Any:
    """A shipped dataset name → its path; anything else unchanged."""
    if isinstance(data, str) and "/" not in data and "." not in data:
        from llm_magics.evaluation.datasets import dataset_path

        return dataset_path(data)
    return data


async def aevaluate(
    data: Any,
    template: str,
    targets: Sequence[Any] | str = (),
    *,
    scorer: str | Callable[[str, Mapping[str, Any]], Any] | Any = "exact",
    expected: str | None = "answer",
    repeat: int = 1,
    limit: int | None = None,
    sample: int | None = None,
    seed: int = 0,
    judge: str | None = None,
    workflow: Any = None,
    step: str | None = None,
    system: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    concurrency: int | None = None,
    on_event: EventSink | None = None,
    history: History | bool | None = None,
) -> EvalResult:
    """Run every (target, item, repeat) call, score it, and return the `EvalResult`.

    `scorer`: exact, contains, regex:PATTERN, number, choice, json[:SCHEMA.json], cwe, judge (with
    `judge="provider:model"`), or a function ``(output, row) -> bool | float``. `workflow` (a name
    such as "security-audit", a path or YAML) runs each item through that workflow per target and
    scores `step` (default: its last step). `history`: a History, None/True for the default one,
    False to store nothing. Ctrl-C keeps every finished call (status "interrupted") and re-raises;
    `res.resume()` then sends only what is missing.
    """
    from llm_magics.evaluation.run import run_eval

    return await run_eval(
        _data(data), template, targets, scorer=scorer, expected=expected, repeat=repeat, limit=limit, sample=sample,
        seed=seed, judge=judge, workflow=workflow, step=step, system=system, temperature=temperature,
        max_tokens=max_tokens, concurrency=concurrency, on_event=on_event, history=history,
    )


evaluate = sync_twin(aevaluate, "evaluate")


async def aresume_eval(run_id: str | EvalResult, *, scorer: Any = None, concurrency: int | None = None,
                       on_event: EventSink | None = None, history: History | None = None,
                       retry_errors: bool = True) -> EvalResult:
    """Continue a stored eval by id (or an EvalResult): only missing (and failed) calls are sent."""
    from llm_magics.evaluation.run import resume_eval as _resume

    return await _resume(run_id, scorer=scorer, concurrency=concurrency, on_event=on_event, history=history,
                         retry_errors=retry_errors)


def resume_eval(run_id: str | EvalResult, **kw: Any) -> EvalResult:
    """Blocking twin of `aresume_eval`."""
    return run_sync(aresume_eval(run_id, **kw))


def planned_calls(plan: EvalPlan, keys: Sequence[tuple[str, int, int]] | None = None) -> list[PlannedCall]:
    """The chat requests a plan would send (all of them, or those of `keys`), for estimates and the budget."""
    from llm_magics.pricing.estimate import PlannedCall

    res = plan.result
    todo = list(keys) if keys is not None else res.planned_keys()
    calls: list[PlannedCall] = []
    for label, item, _ in todo:
        t = plan.target(label)
        if plan.workflow is not None:
            from llm_magics.workflow.spec import render_prompt

            wf = plan.workflow
            for s in wf.spec.steps:
                persona = wf.personas.get(s.id)
                msgs: list[Any] = [{"role": "system", "content": persona.system_prompt}] if persona else []
                msgs.append({"role": "user", "content": render_prompt(s.prompt, {wf.spec.inputs[0]: plan.prompts[item]}, {})})
                cap = s.max_tokens or res.max_tokens or wf.spec.max_tokens
                calls.append(PlannedCall(provider=t.provider, messages=msgs, model=t.model, max_output_tokens=cap,
                                         carried_outputs=len(s.needs), label=f"{label} · {s.id}"))
        else:
            calls.append(PlannedCall(provider=t.provider, messages=plan.messages(item), model=t.model,
                                     max_output_tokens=res.max_tokens, label=label))
        if plan.judge is not None:
            from llm_magics.evaluation.judge import JUDGE_SYSTEM, judge_prompt

            msgs = [{"role": "system", "content": JUDGE_SYSTEM},
                    {"role": "user", "content": judge_prompt(plan.prompts[item], res.item(item).row.get(res.expected or "", ""), "")}]
            calls.append(PlannedCall(provider=plan.judge.provider, messages=msgs, model=plan.judge.model,
                                     carried_outputs=1, label="judge"))
    return calls


async def estimate_plan(plan: EvalPlan, keys: Sequence[tuple[str, int, int]] | None = None, *,
                        use_tokenizer: bool = True) -> Estimate:
    import inspect

    from llm_magics.pricing.estimate import aestimate_run

    kw: dict[str, Any] = {}
    if "use_tokenizer" in inspect.signature(aestimate_run).parameters:
        kw["use_tokenizer"] = use_tokenizer
    return await aestimate_run(planned_calls(plan, keys), **kw)


async def aestimate_eval(data: Any, template: str, targets: Sequence[Any] | str = (), **options: Any) -> Estimate:
    """What `evaluate` with the same arguments would send and may cost; sends no chat request.

    Validates exactly like `evaluate` (so a bad column or target fails here too). Workflow runs are
    estimated per step, with each step's earlier outputs at the output cap in the maximum.
    """
    from llm_magics.evaluation.plan import prepare

    options.pop("on_event", None)
    options.pop("history", None)
    plan = await prepare(_data(data), template, targets, **options)
    try:
        return await estimate_plan(plan)
    finally:
        await plan.providers.aclose()


estimate_eval = sync_twin(aestimate_eval, "estimate_eval")
