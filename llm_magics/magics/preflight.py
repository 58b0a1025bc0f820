"""Before a cell magic sends anything: `--estimate` (show calls, tokens, cost range; send no chat
request) and the session budget (refuse a run whose estimated minimum does not fit).

Plans mirror what the orchestration will send: the same personas, system prompts and first-round
prompts (`discussion.modes`), the same workflow steps and rendered inputs, the same compare
targets × repeats. Text that only exists once the run is going (earlier answers a later prompt
quotes) is counted in the maximum, at the output cap, not in the minimum.

The budget check counts tokens locally so that a refused run sends no request at all; `--estimate`
asks Kimi's tokenizer endpoint when a Kimi key is set (not a chat request).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llm_magics.pricing.estimate import Estimate, PlannedCall
    from llm_magics.providers.base import Provider

__all__ = ["gate", "plan_discussion", "plan_workflow", "plan_compare", "output_cap", "discuss_gate",
           "workflow_gate", "compare_gate", "thinking_options"]


def output_cap(provider: Provider, model: str, max_tokens: int | None) -> int | None:
    """The output cap a call will be sent with: the flag, else the setting, else the model's default."""
    if max_tokens is not None:
        return int(max_tokens)
    opt = provider.options.get("max_tokens")
    if opt is not None:
        return int(opt)
    if provider.name == "kimi":
        from llm_magics.providers.kimi import family_defaults

        default = family_defaults(model).get("max_tokens")
        if default is not None:
            return int(default)
    if provider.name == "anthropic":
        from llm_magics.providers.anthropic import DEFAULT_MAX_TOKENS

        return int(DEFAULT_MAX_TOKENS)
    return None


class _Providers:
    """One provider per name for the plan (built like the run builds them; closed afterwards)."""

    def __init__(self, default: str | None, model: str | None, options: dict[str, Any] | None = None) -> None:
        from llm_magics.keys.resolve import get_provider

        self.options = dict(options or {})
        self.default = get_provider(default, model=model, **self.options)
        self._by_name: dict[str, Provider] = {self.default.name: self.default}

    def get(self, name: str | None) -> Provider:
        from llm_magics.keys.resolve import get_provider
        from llm_magics.providers.registry import PROVIDERS

        if not name:
            return self.default
        key = PROVIDERS[name].name
        if key not in self._by_name:
            self._by_name[key] = get_provider(key, **self.options)
        return self._by_name[key]

    def target(self, spec: str | None) -> tuple[Provider, str]:
        """"kimi:kimi-k2.6" / "kimi-k2.6" / None → (provider, model)."""
        if not spec:
            return self.default, self.default.resolve_model(None)
        from llm_magics.discussion.seats import split_target

        name, model = split_target(spec, self.default.name)
        p = self.get(name)
        return p, p.resolve_model(model)

    async def aclose(self) -> None:
        for p in self._by_name.values():
            await p.aclose()


def plan_discussion(topic: str, personas: str | None, *, mode: str, rounds: int | None, aggregator: str | None,
                    chair: str | None, max_tokens: int | None, providers: _Providers) -> list[PlannedCall]:
    from llm_magics.discussion import modes
    from llm_magics.personas.model import get_persona
    from llm_magics.personas.seats import resolve_seats, split_spec
    from llm_magics.pricing.estimate import PlannedCall

    seats = resolve_seats(personas or None)
    people = [s.persona for s in seats]
    n = len(people)
    n_rounds = int(rounds) if rounds is not None else {"sequential": 1, "parallel": 1, "consensus": 3}[mode]
    agg = aggregator or "synthesize"
    vote = mode == "consensus" and agg == "vote"
    calls: list[PlannedCall] = []

    def add(persona: Any, target: str | None, prompt: str, carried: int = 0, optional: bool = False,
            label: str = "") -> None:
        prov, mid = providers.target(target)
        msgs = [{"role": "system", "content": modes.system_prompt(persona, people)}, {"role": "user", "content": prompt}]
        calls.append(PlannedCall(prov, msgs, mid, output_cap(prov, mid, max_tokens), carried, optional, label))

    for r in range(1, n_rounds + 1):
        for i, seat in enumerate(seats):
            p = seat.persona
            if mode == "sequential":
                prompt = modes.sequential_prompt(topic, [], p, r, n_rounds)
                add(p, seat.target, prompt, carried=(r - 1) * n + i, label=f"{p.name} · round {r}")
            elif mode == "parallel":
                add(p, seat.target, modes.parallel_prompt(topic, None, [], 1), carried=n if r > 1 else 0,
                    label=f"{p.name} · round {r}")
            else:
                prompt = modes.first_prompt(topic, vote=vote)
                add(p, seat.target, prompt, carried=n if r > 1 else 0, optional=r > 1, label=f"{p.name} · round {r}")
    chair_name, chair_target = split_spec(chair) if chair else (None, None)
    chair_p = get_persona(chair_name) if chair_name else None
    speaker = chair_p or people[0]
    seat_target = next((s.target for s in seats if s.persona.name == speaker.name), None)
    final_target = chair_target or seat_target
    if mode == "consensus":
        if agg == "synthesize":
            add(speaker, final_target, modes.synthesis_prompt(topic, [], []), carried=n, label="synthesis")
        elif agg == "rank":
            for seat in seats:
                add(seat.persona, seat.target, modes.ranking_prompt(topic, []), carried=n, label="ranking")
    elif chair_p is not None:
        add(speaker, final_target, modes.summary_prompt(topic, []), carried=n * n_rounds, label="summary")
    return calls


def plan_workflow(spec_or_name: str, given_input: str | None, *, provider: str | None, model: str | None,
                  providers: _Providers) -> list[PlannedCall]:
    """`provider`/`model`: the run's defaults (a step's own provider/model wins, as in the run)."""
    from llm_magics.pricing.estimate import PlannedCall
    from llm_magics.workflow.api import _bind_inputs, _resolve_personas, load_workflow
    from llm_magics.workflow.spec import render_prompt

    spec = load_workflow(spec_or_name)
    inputs = _bind_inputs(spec, given_input)
    personas = _resolve_personas(spec)
    outputs = {s.id: "" for s in spec.steps}  # unknown before the run: counted at the cap in the maximum
    calls: list[PlannedCall] = []
    for step in spec.steps:
        target = step.provider or spec.provider or provider
        prov = providers.get(target)
        mid = prov.resolve_model(step.model or spec.model or model)
        persona = personas.get(step.id)
        msgs: list[dict[str, Any]] = []
        if persona is not None:
            msgs.append({"role": "system", "content": persona.system_prompt})
        msgs.append({"role": "user", "content": render_prompt(step.prompt, inputs, outputs)})
        cap = output_cap(prov, mid, step.max_tokens)
        calls.append(PlannedCall(prov, msgs, mid, cap, carried_outputs=len(step.needs), label=step.id))
    return calls


def plan_compare(prompt: str, targets: Sequence[str], *, repeat: int, max_tokens: int | None,
                 providers: _Providers) -> list[PlannedCall]:
    from llm_magics.pricing.estimate import PlannedCall

    calls: list[PlannedCall] = []
    msgs = [{"role": "user", "content": prompt}]
    for t in targets:
        prov, mid = providers.target(t)
        for k in range(max(int(repeat or 1), 1)):
            calls.append(PlannedCall(prov, msgs, mid, output_cap(prov, mid, max_tokens), label=f"{t} #{k + 1}"))
    return calls


async def _planned(planner: Callable[[_Providers], list[PlannedCall]], providers: _Providers) -> list[PlannedCall]:
    """The planner's calls. A provider that takes its model from the server when none is given (an
    OpenAI-compatible server's first model, as the run does) learns it first, then the plan is made again."""
    from llm_magics.errors import ConfigurationError, LLMError

    primed: set[int] = set()
    while True:
        try:
            return planner(providers)
        except ConfigurationError:
            fresh = [p for p in providers._by_name.values() if id(p) not in primed]
            if not fresh:
                raise
            for p in fresh:
                primed.add(id(p))
                try:
                    await p.aresolve_model(None)
                except LLMError:
                    pass


def gate(planner: Callable[[_Providers], list[PlannedCall]], *, estimate: bool, provider: str | None = None,
         model: str | None = None, options: dict[str, Any] | None = None) -> Estimate | None:
    """`--estimate`: return the Estimate to show (the caller sends nothing). Otherwise, with a budget
    set, raise `BudgetExceededError` when the run cannot fit; return None to let the run go ahead."""
    from llm_magics.pricing import budget

    if not estimate and budget.limit() is None:
        return None
    from llm_magics.pricing.estimate import aestimate_run
    from llm_magics.sync import run_sync

    async def go() -> Estimate:
        providers = _Providers(provider, model, options)
        try:
            calls = await _planned(planner, providers)
            return await aestimate_run(calls, use_tokenizer=estimate)
        finally:
            await providers.aclose()

    result = run_sync(go())
    if estimate:
        return result
    budget.check_estimate(result)
    return None


def thinking_options(args: Any) -> dict[str, Any]:
    """`--thinking on|off` → provider options (Kimi sends it as documented; see kimi_params)."""
    value = getattr(args, "thinking", None)
    return {"thinking": "enabled" if value == "on" else "disabled"} if value else {}


def _show(est: Estimate) -> None:
    from llm_magics.magics.table import show

    show(est)


def discuss_gate(args: Any, topic: str, personas: str | None, chair: str | None) -> bool:
    """True when `--estimate` was shown (send nothing); raises when the budget cannot fit the run."""
    est = gate(lambda ps: plan_discussion(topic, personas, mode=args.mode, rounds=args.rounds,
                                          aggregator=args.aggregator, chair=chair, max_tokens=args.max_tokens,
                                          providers=ps),
               estimate=bool(getattr(args, "estimate", False)), provider=args.provider, model=args.model,
               options=thinking_options(args))
    if est is not None:
        _show(est)
    return est is not None


def workflow_gate(args: Any, spec_or_name: str, given_input: str | None) -> bool:
    est = gate(lambda ps: plan_workflow(spec_or_name, given_input, provider=args.provider, model=args.model,
                                        providers=ps),
               estimate=bool(getattr(args, "estimate", False)), provider=args.provider, model=args.model,
               options=thinking_options(args))
    if est is not None:
        _show(est)
    return est is not None


def compare_gate(args: Any, prompt: str) -> bool:
    est = gate(lambda ps: plan_compare(prompt, list(args.targets), repeat=args.repeat or 1,
                                       max_tokens=getattr(args, "max_tokens", None), providers=ps),
               estimate=bool(getattr(args, "estimate", False)), options=thinking_options(args))
    if est is not None:
        _show(est)
    return est is not None
