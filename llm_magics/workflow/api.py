"""Workflows: multi-step pipelines where each step is one persona's answer to a templated prompt.

    run = run_workflow("security-audit", code, provider="kimi")
    run.status, run["findings"].output, run.to_markdown()
    run.resume()            # after a failure: only failed/skipped/pending steps are sent again

A workflow is YAML (see `llm_magics/workflow/builtin/*.yaml` for the built-ins)::

    name: my-review
    description: One line shown by `%llm workflows`.
    inputs: [input]            # names usable as {{ input }}; default [input]
    input: |                   # optional: the input text itself (handy in a %%workflow cell)
      def login(user, pw): ...
    steps:
      - id: risks
        persona: Noor Okafor   # name, role or alias; see `%llm personas`
        prompt: |
          List the risks in: {{ input }}
      - id: plan
        persona: Sasha Lindqvist
        model: kimi-k2-turbo-preview     # optional: provider, model, temperature, max_tokens
        prompt: |
          Turn these risks into a plan: {{ steps.risks.output }}

Steps whose needs are done run concurrently; a `{{ steps.ID.output }}` reference implies
`needs: [ID]`. Settings resolve step > call argument > workflow level > provider default.

Failure policy: a step error does NOT raise. The run ends with ``status == "failed"``, its
`error` names the step and says how to resume, dependents are "skipped" and finished outputs are
kept (and saved to history). Invalid specs, inputs or names raise ConfigurationError before any
request is sent; Ctrl-C/cancel keeps partial text, saves the run as "interrupted" and re-raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from llm_magics.sync import sync_twin
from llm_magics.workflow.run import StepResult, WorkflowRun
from llm_magics.workflow.spec import StepSpec, WorkflowSpec
from llm_magics.errors import ConfigurationError

if TYPE_CHECKING:
    from llm_magics.workflow.execute import Target
    from llm_magics.events import EventSink
    from llm_magics.history.store import History
    from llm_magics.personas.model import Persona
    from llm_magics.providers.base import Provider

__all__ = [
    "WorkflowSpec",
    "StepSpec",
    "WorkflowRun",
    "StepResult",
    "arun_workflow",
    "run_workflow",
    "load_workflow",
    "builtin_workflows",
    "user_workflows_dir",
]

#: Display order of the packaged workflows (files not listed here follow, sorted).
_BUILTIN_ORDER = ("security-audit", "code-review", "marketing-campaign", "ux-review")


# --------------------------------------------------------------------------- loading


def _builtin_dir() -> Any:
    from importlib.resources import files

    return files("llm_magics.workflow") / "builtin"


def user_workflows_dir() -> Path:
    """`LLM_MAGICS_HOME/workflows`: YAML files here are found by name like the built-ins."""
    from llm_magics.config import home

    return home() / "workflows"


def _named_sources() -> dict[str, tuple[str, Any]]:
    """Workflow name → (origin label, file), built-ins first; user files may override them."""
    found: dict[str, tuple[str, Any]] = {}
    builtin = {p.name[: -len(".yaml")]: p for p in _builtin_dir().iterdir() if p.name.endswith(".yaml")}
    for name in [*(n for n in _BUILTIN_ORDER if n in builtin), *sorted(set(builtin) - set(_BUILTIN_ORDER))]:
        found[name] = (f"{name}.yaml", builtin[name])
    udir = user_workflows_dir()
    if udir.is_dir():
        for path in sorted(udir.glob("*.y*ml")):
            found[path.stem] = (str(path), path)
    return found


def _persona_lookup() -> Any:
    from llm_magics.personas.model import get_persona

    return get_persona


def load_workflow(source: str | Path | WorkflowSpec) -> WorkflowSpec:
    """A validated spec from a workflow name (built-in or user), a .yaml path, or YAML text."""
    from llm_magics.workflow.spec import parse_spec

    if isinstance(source, WorkflowSpec):
        return source
    if isinstance(source, Path):
        return parse_spec(_read(source), origin=str(source), persona_lookup=_persona_lookup())
    text = str(source)
    stripped = text.strip()
    if "\n" not in stripped and ":" not in stripped:
        named = _named_sources()
        if stripped in named:
            origin, file = named[stripped]
            return parse_spec(file.read_text(encoding="utf-8"), origin=origin, persona_lookup=_persona_lookup())
        if stripped.endswith((".yaml", ".yml")) or Path(stripped).expanduser().is_file():
            path = Path(stripped).expanduser()
            return parse_spec(_read(path), origin=str(path), persona_lookup=_persona_lookup())
        from llm_magics.providers.suggest import did_you_mean

        hint = did_you_mean(stripped, named) or "Workflows: " + ", ".join(named) + " (see `%llm workflows`)."
        raise ConfigurationError(f"Unknown workflow '{stripped}'.", hint=hint)
    return parse_spec(text, persona_lookup=_persona_lookup())


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"Cannot read workflow file {path}: {exc.strerror}.",
                                 hint="Check the path, or give a built-in name (see `%llm workflows`).") from None


def builtin_workflows() -> list[WorkflowSpec]:
    """The packaged workflows (and any in `user_workflows_dir()`), in display order."""
    return [load_workflow(name) for name in _named_sources()]


# --------------------------------------------------------------------------- running


def _bind_inputs(spec: WorkflowSpec, given: str | Mapping[str, str] | None) -> dict[str, str]:
    values = dict(spec.input)
    if isinstance(given, str):
        if len(spec.inputs) != 1:
            raise ConfigurationError(
                f"Workflow '{spec.name}' has {len(spec.inputs)} inputs ({', '.join(spec.inputs)}); a single text is ambiguous.",
                hint="Pass a dict, e.g. input={" + ", ".join(f"'{n}': ..." for n in spec.inputs) + "}.",
            )
        values[spec.inputs[0]] = given
    elif given is not None:
        for key, value in dict(given).items():
            if key not in spec.inputs:
                from llm_magics.providers.suggest import did_you_mean

                raise ConfigurationError(f"Workflow '{spec.name}' has no input '{key}'.",
                                         hint=did_you_mean(key, spec.inputs) or f"Inputs: {', '.join(spec.inputs)}.")
            values[key] = str(value)
    missing = [n for n in spec.inputs if not str(values.get(n, "")).strip()]
    if missing:
        raise ConfigurationError(
            f"Workflow '{spec.name}' needs input {', '.join(repr(m) for m in missing)}, which was not given.",
            hint="Pass input=... (a text, or a dict by name), put the text in the %%workflow cell, "
            "or add `input:` to the YAML spec.",
        )
    return values


def _resolve_personas(spec: WorkflowSpec) -> dict[str, Persona | None]:
    from llm_magics.personas.model import get_persona

    out: dict[str, Persona | None] = {}
    for step in spec.steps:
        if not step.persona:
            out[step.id] = None
            continue
        try:
            out[step.id] = get_persona(step.persona)
        except ConfigurationError as exc:
            raise ConfigurationError(f"Workflow '{spec.name}', line {step.line}, steps.{step.id}.persona: {exc.message}",
                                     hint=exc.hint) from None
    return out


class _Targets:
    """Provider instances for the run (built once per name) and each step's model and params."""

    def __init__(self, spec: WorkflowSpec, provider: str | Provider | None, model: str | None,
                 params: dict[str, Any], stored: WorkflowRun | None) -> None:
        from llm_magics import config
        from llm_magics.keys import resolve
        from llm_magics.keys.resolve import get_provider
        from llm_magics.providers.base import Provider

        self.spec, self.params, self.notices = spec, params, []
        self.created: list[Provider] = []
        self.base_url: str | None = None
        self._cache: dict[str, Provider] = {}
        if isinstance(provider, Provider):
            default = provider
            self.base_url = provider.base_url or None
        else:
            name = provider or (stored.provider if stored else None) or spec.provider
            url = stored.base_url if stored and not provider and stored.base_url else None
            if name is None:
                name, notice = resolve.default_provider_choice()
                if notice:
                    self.notices.append(notice)
            default = self._make(get_provider(name, base_url=url))
            self.base_url = url
        self.default = default
        self._cache[default.name] = default
        same = stored is not None and not provider and stored.provider == default.name
        level = spec.model if spec.provider in (None, default.name) else None
        self.model = model or (stored.model if stored is not None and same else None) or level or default.default_model

    def _make(self, p: Provider) -> Provider:
        self.created.append(p)
        return p

    def for_step(self, step: StepSpec) -> Target:
        from llm_magics.workflow.execute import Target
        from llm_magics.keys.resolve import get_provider

        name = step.provider
        if name is None or name == self.default.name:
            prov, model = self.default, step.model or self.model
        else:
            if name not in self._cache:
                self._cache[name] = self._make(get_provider(name))
            prov = self._cache[name]
            model = step.model or prov.default_model
        params: dict[str, Any] = {}
        for key in ("temperature", "max_tokens"):
            value = getattr(step, key)
            value = value if value is not None else self.params.get(key)
            value = value if value is not None else getattr(self.spec, key)
            if value is not None:
                params[key] = value
        return Target(prov, model, params)  # model None: the provider picks (e.g. the server's only model)

    async def aclose(self) -> None:
        for p in self.created:
            try:
                await p.aclose()
            except Exception:  # noqa: BLE001, S110 - closing is best effort
                pass


def _load_stored(resume: str | WorkflowRun, history: History) -> WorkflowRun:
    if isinstance(resume, WorkflowRun):
        return resume
    record = history.get(str(resume).strip())
    if record.kind != "workflow":
        raise ConfigurationError(f"Run {record.id} is a {record.kind}, not a workflow; only workflows can be resumed.",
                                 hint="List workflow runs with `%llm history --kind workflow`.")
    run: WorkflowRun = WorkflowRun.from_dict(record.data)
    return run


async def arun_workflow(
    spec_or_name: str | Path | WorkflowSpec | None = None,
    input: str | Mapping[str, str] | None = None,
    *,
    provider: str | Provider | None = None,
    model: str | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    resume: str | WorkflowRun | None = None,
    on_event: EventSink | None = None,
    history: History | None = None,
    max_concurrency: int = 4,
) -> WorkflowRun:
    """Run a workflow (name, path, YAML text or WorkflowSpec) on `input`; returns the WorkflowRun.

    `resume=RUN_ID` (or a WorkflowRun) continues a stored run instead: the stored spec and inputs
    are used and only failed/skipped/pending/interrupted steps are sent. `provider` may be a name
    or a Provider instance (e.g. one built with `get_provider(..., base_url=...)`).
    """
    from llm_magics.workflow.execute import execute
    from llm_magics.events import null_sink
    from llm_magics.history.store import default_history, new_run_id

    hist = history if history is not None else default_history()
    stored: WorkflowRun | None = None
    if resume is not None:
        if spec_or_name is not None or input is not None:
            raise ConfigurationError("Give either a workflow to run or resume=RUN_ID, not both.",
                                     hint="A resumed run reuses its stored spec and input.")
        stored = _load_stored(resume, hist)
        spec = stored.spec
    elif spec_or_name is None:
        raise ConfigurationError("No workflow given.", hint="Pass a name (see `%llm workflows`), a YAML spec, or resume=RUN_ID.")
    else:
        spec = load_workflow(spec_or_name)
    personas = _resolve_personas(spec)
    params = {"temperature": temperature, "max_tokens": max_tokens}
    inputs = _bind_inputs(spec, input) if stored is None else stored.inputs
    scrubbed = _scrub_inputs(inputs)
    targets = _Targets(spec, provider, model, params, stored)
    targets.notices.extend(scrubbed)
    try:
        step_targets = {s.id: targets.for_step(s) for s in spec.steps}
        await _check_models(spec, step_targets)
        if stored is not None:
            run = stored
            run.resumes += 1
        else:
            run = WorkflowRun(
                id=new_run_id(), workflow=spec.name, spec_yaml=spec.to_yaml(), inputs=inputs,
                steps={sid: StepResult(sid, persona=_label(personas[sid])) for sid in spec.order()},
                description=spec.description,
            )
            run._spec = spec
        run.provider, run.model, run.base_url = targets.default.name, targets.model, _public_url(targets.base_url)
        return await execute(run, spec, targets=step_targets, personas=personas, on_event=on_event or null_sink,
                             history=hist, max_concurrency=max_concurrency, notices=targets.notices)
    finally:
        await targets.aclose()


async def _check_models(spec: WorkflowSpec, step_targets: dict[str, Target]) -> None:
    """Every step's model must be one its provider lists: a typo fails here, before step 1 is sent."""
    from llm_magics.keys.models import acheck_model

    seen: set[tuple[str, str | None]] = set()
    for step in spec.steps:
        t = step_targets[step.id]
        key = (t.provider.name, t.model)
        if key in seen:
            continue
        seen.add(key)
        where = f"Workflow '{spec.name}', step '{step.id}'" if step.model else f"Workflow '{spec.name}'"
        await acheck_model(t.provider, t.model, where=where)


def _scrub_inputs(inputs: dict[str, str]) -> list[str]:
    """Replace lone surrogates in the inputs (in place); one notice per input that had any."""
    from llm_magics.providers.text import scrub_text

    notices = []
    for name, value in inputs.items():
        inputs[name], notice = scrub_text(value, f"The input '{name}'")
        if notice:
            notices.append(notice)
    return notices


def _public_url(url: str | None) -> str | None:
    """The base URL without any user:password part (runs are stored and shown)."""
    if not url or "@" not in url:
        return url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def _label(persona: Persona | None) -> str | None:
    return persona.label if persona is not None else None


run_workflow = sync_twin(arun_workflow, "run_workflow")
