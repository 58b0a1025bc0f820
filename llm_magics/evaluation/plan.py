"""Everything an eval checks before its first request, and the validated plan the runner executes.

Order matters: the checks that need no network (numbers, data, template, scorer, expected values,
workflow, step) run first, then targets (which may read `/v1/models`, never a billed call), then
the judge. The first problem raises one `ConfigurationError` and nothing has been sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llm_magics.errors import ConfigurationError
from llm_magics.evaluation.data import (
    check_expected_column,
    check_template,
    load_data,
    render,
    select,
)
from llm_magics.evaluation.result import EvalResult
from llm_magics.evaluation.scorers import Scorer, get_scorer
from llm_magics.evaluation.targets import EvalTarget, Providers, resolve_targets

if TYPE_CHECKING:
    from llm_magics.evaluation.workflow_mode import WorkflowMode
    from llm_magics.providers.base import Message

__all__ = ["EvalPlan", "prepare", "prepare_resume", "check_int"]


@dataclass
class EvalPlan:
    result: EvalResult
    targets: list[EvalTarget]
    scorer: Scorer
    prompts: dict[int, str]
    providers: Providers
    params: dict[str, Any] = field(default_factory=dict)
    workflow: WorkflowMode | None = None
    judge: EvalTarget | None = None
    notices: list[str] = field(default_factory=list)
    #: Session-wide news ("No Kimi key found"): an info notice shown once per session, not stored.
    session_notices: list[str] = field(default_factory=list)

    def target(self, label: str) -> EvalTarget:
        return next(t for t in self.targets if t.label == label)

    def messages(self, item: int) -> list[Message]:
        system = self.result.system
        out: list[Message] = [{"role": "system", "content": system}] if system else []
        out.append({"role": "user", "content": self.prompts[item]})
        return out


def check_int(name: str, value: Any, *, minimum: int = 1, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            as_int = int(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{name} must be a whole number, got {value!r}.") from None
        if as_int != value:
            raise ConfigurationError(f"{name} must be a whole number, got {value!r}.")
        value = as_int
    if value < minimum:
        raise ConfigurationError(f"{name}={value} must be at least {minimum}.")
    return int(value)


def _scorer_spec(scorer: Any) -> str | None:
    return scorer.strip() if isinstance(scorer, str) else None


async def _bind_judge(judge: str, scorer: Scorer, targets: list[EvalTarget], providers: Providers,
                      notices: list[str], slots: Any, session: list[str] | None = None) -> EvalTarget:
    from llm_magics.evaluation.judge import JudgeScorer

    resolved, more = await resolve_targets([judge], providers, session=session)
    notices += more
    jt = resolved[0]
    if any(t.label == jt.label for t in targets):
        notices.append(f"The judge {jt.label} is also a target: models tend to prefer their own answers.")
    if isinstance(scorer, JudgeScorer):
        hide = [n for t in targets for n in (t.label, t.model, t.provider.name)]
        scorer.bind(jt.provider, jt.model, hide=hide, slots=slots)
    return jt


async def prepare(
    data: Any,
    template: str,
    targets: Sequence[Any] | str,
    *,
    scorer: Any = "exact",
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
    slots: Any = None,
    run_id: str = "",
) -> EvalPlan:
    """Validate everything (see the module docstring) and build the plan; sends no chat request."""
    repeat = check_int("repeat", repeat, allow_none=False) or 1
    limit = check_int("limit", limit)
    sample = check_int("sample", sample)
    concurrency = check_int("concurrency", concurrency)
    seed = check_int("seed", seed, minimum=0, allow_none=False) or 0
    if temperature is not None and not 0.0 <= float(temperature) <= 2.0:
        raise ConfigurationError(f"temperature={temperature} is out of range [0, 2].")
    max_tokens = check_int("max_tokens", max_tokens)
    ds = load_data(data)
    items = select(ds, limit=limit, sample=sample, seed=seed)
    if not isinstance(template, str):
        raise ConfigurationError(f"template must be text with {{{{ column }}}} placeholders, got {type(template).__name__}.")
    check_template(template, ds.columns)
    sc = get_scorer(scorer, judge=judge)
    if judge is not None and not sc.needs_judge:
        raise ConfigurationError(f"judge={judge!r} was given but the scorer is '{sc.name}', which does not use a judge.",
                                 hint="Use scorer='judge' (--scorer judge) to grade with the judge model.")
    if sc.needs_expected:
        if not expected:
            raise ConfigurationError(f"The {sc.name} scorer compares with an expected answer, but no expected column was given.",
                                     hint="Name it with expected='column' (--expected COLUMN).")
        check_expected_column(items, expected, ds.columns, sc.check_expected)
    wf: WorkflowMode | None = None
    if workflow is not None:
        from llm_magics.evaluation.workflow_mode import WorkflowMode

        wf = WorkflowMode(workflow, step)
    elif step is not None:
        raise ConfigurationError(f"step={step!r} needs a workflow.", hint="--step picks which step of --workflow NAME is scored.")
    prompts = {it.index: render(template, it.row) for it in items}
    empty = [it.index + 1 for it in items if not prompts[it.index].strip()]
    if empty:
        raise ConfigurationError(f"The template renders to an empty prompt for row {empty[0]}" + (f" (and {len(empty) - 1} more)" if len(empty) > 1 else "") + ".")
    providers = Providers()
    try:
        session: list[str] = []
        resolved, notices = await resolve_targets(targets, providers, session=session)
        jt = await _bind_judge(judge, sc, resolved, providers, notices, slots, session) if judge is not None else None
    except BaseException:
        await providers.aclose()
        raise
    params: dict[str, Any] = {}
    if temperature is not None:
        params["temperature"] = float(temperature)
    if max_tokens is not None:
        params["max_tokens"] = max_tokens
    from llm_magics.history.store import new_run_id

    res = EvalResult(
        id=run_id or new_run_id(), template=template, targets=[t.label for t in resolved], items=items,
        scorer=sc.name, expected=expected, repeat=repeat, system=system,
        temperature=params.get("temperature"), max_tokens=max_tokens, judge=jt.label if jt else None,
        workflow=wf.name if wf else None, workflow_yaml=wf.spec.to_yaml() if wf else None, step=wf.step if wf else None,
        dataset=ds.source, seed=seed, target_specs={t.label: t.spec for t in resolved},
        scorer_spec=_scorer_spec(scorer), scorer_needs_expected=sc.needs_expected, concurrency=concurrency,
    )
    res._scorer = sc
    offline = [t.label for t in resolved if getattr(t.provider, "offline", False)]
    if offline:
        res.notes.append(f"{', '.join(offline)}: answers from the offline demo provider, generated locally, "
                         "not by a model (for the shipped sets it simulates a model's accuracy).")
    return EvalPlan(res, resolved, sc, prompts, providers, params, wf, jt, notices, list(dict.fromkeys(session)))


async def prepare_resume(res: EvalResult, *, scorer: Any = None, slots: Any = None) -> EvalPlan:
    """The plan of a stored or in-memory run: same items, template, targets and scorer."""
    from llm_magics.evaluation.targets import EvalTarget

    if scorer is not None:
        sc = get_scorer(scorer, judge=res.judge)
    elif res._scorer is not None:
        sc = res._scorer
    elif res.scorer_spec is not None:
        sc = get_scorer(res.scorer_spec, judge=res.judge)
    else:
        raise ConfigurationError(f"Run {res.id} was scored by the Python function '{res.scorer}', which is not stored.",
                                 hint=f"Pass it again: res.resume(scorer={res.scorer}) / aevaluate resume with scorer=.")
    res._scorer = sc
    wf: WorkflowMode | None = None
    if res.workflow:
        from llm_magics.evaluation.workflow_mode import WorkflowMode

        wf = WorkflowMode(res.workflow_yaml or res.workflow, res.step)
    providers = Providers()
    try:
        targets = []
        for label in res.targets:
            spec = res.target_specs.get(label) or dict(zip(("provider", "model"), label.split(":", 1)))
            prov = providers.get(str(spec["provider"]))
            targets.append(EvalTarget(label, str(spec.get("given") or label), prov, str(spec["model"])))
        notices: list[str] = []
        jt = await _bind_judge(res.judge, sc, targets, providers, notices, slots) if res.judge else None
    except BaseException:
        await providers.aclose()
        raise
    params: dict[str, Any] = {}
    if res.temperature is not None:
        params["temperature"] = res.temperature
    if res.max_tokens is not None:
        params["max_tokens"] = res.max_tokens
    prompts = {it.index: render(res.template, it.row) for it in res.items}
    return EvalPlan(res, targets, sc, prompts, providers, params, wf, jt, notices)
