"""Eval targets: "provider:model" strings → provider instances, every problem found before any request.

Unlike `%%compare` (where one bad target fails alone), an eval with a typo in a model ID would
spend money on the others and then have nothing to compare, so here every target must resolve:
an unknown provider, a provider without a key or an unknown model ID stops the eval at once
with "did you mean". Model IDs are checked against the provider's model list (the hourly cache,
else `/v1/models`, which is not billed); when only the built-in list is available (no network)
an unlisted ID is allowed with a notice, since the list may be older than the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llm_magics.errors import ConfigurationError

if TYPE_CHECKING:
    from llm_magics.providers.base import Provider

__all__ = ["EvalTarget", "Providers", "resolve_targets", "label_of"]


@dataclass
class EvalTarget:
    label: str  # "provider:model", the name used everywhere in the result
    given: str  # as the user wrote it
    provider: Provider
    model: str

    @property
    def spec(self) -> dict[str, Any]:
        return {"provider": self.provider.name, "model": self.model, "given": self.given}


def label_of(provider: str, model: str) -> str:
    return f"{provider}:{model}"


class Providers:
    """One provider instance per name for the whole run (shared pool and limits); closes what it built."""

    def __init__(self) -> None:
        self.built: dict[str, Provider] = {}

    def get(self, name: str) -> Provider:
        if name not in self.built:
            from llm_magics.keys.resolve import get_provider

            self.built[name] = get_provider(name)
        return self.built[name]

    async def aclose(self) -> None:
        for p in self.built.values():
            try:
                await p.aclose()
            except Exception:  # noqa: BLE001, S110 - closing is best effort
                pass


def _split(target: str, default: str) -> tuple[str, str | None]:
    """parse_target, plus a typo check: 'kimmi:kimi-k2.6' is an error, 'llama3:8b' an Ollama model ID."""
    import difflib

    from llm_magics.comparison.api import parse_target
    from llm_magics.providers.registry import PROVIDERS

    prefix, sep, rest = target.partition(":")
    if sep and prefix not in PROVIDERS:
        near = difflib.get_close_matches(prefix.lower(), list(PROVIDERS), n=1, cutoff=0.75)
        if near:
            raise ConfigurationError(f"Unknown provider '{prefix}' in target '{target}'.",
                                     hint=f"Did you mean '{near[0]}:{rest}'? Providers: {', '.join(PROVIDERS)}.")
    return parse_target(target, default)


async def _check_model(target: EvalTarget, notices: list[str]) -> None:
    from llm_magics.keys import models as catalog
    from llm_magics.providers.suggest import closest

    listed = await catalog.alist_models(provider=target.provider)
    if target.model in listed.ids or not listed.ids:
        return
    if listed.source == "builtin":
        notices.append(f"{target.label}: '{target.model}' is not in the built-in model list ({listed.note}); "
                       "sending anyway — a 404 would count as an error for every item.")
        return
    near = [m for m in closest(target.model, listed.ids) if m != target.model]
    hint = ("Did you mean " + " or ".join(f"'{m}'" for m in near) + "?") if near else f"`%llm models {target.provider.name}` lists them."
    raise ConfigurationError(f"Unknown model '{target.model}' for {target.provider.name} (target '{target.given}'); "
                             f"nothing was sent.", hint=hint)


async def resolve_targets(
    targets: Sequence[Any] | str, providers: Providers, *, check_models: bool = True,
    session: list[str] | None = None,
) -> tuple[list[EvalTarget], list[str]]:
    """(targets, notices). Accepts "provider:model", a model ID of the default provider, a provider
    name (its default model), a Provider, or a (Provider, model) pair. Session-wide news (the "No
    Kimi key found" fallback) goes to `session` when given — shown once per session, never stored
    with a run — else into the notices."""
    from llm_magics.keys import resolve
    from llm_magics.providers.base import Provider

    if isinstance(targets, str):
        targets = targets.split()
    if not targets:
        raise ConfigurationError("No targets to evaluate.", hint="Give model IDs or provider:model, e.g. targets=['kimi:kimi-k2.6'].")
    out: list[EvalTarget] = []
    notices: list[str] = []
    default: str | None = None
    for t in targets:
        if isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], Provider):
            prov, model = t[0], t[1] or t[0].default_model
            given = f"{prov.name}:{model}"
        elif isinstance(t, Provider):
            prov, model, given = t, t.default_model, f"{t.name}:{t.default_model}"
        elif isinstance(t, str) and t.strip():
            given = t.strip()
            if default is None:
                default, fallback = resolve.default_provider_choice()
                if fallback and any(isinstance(x, str) and ":" not in x for x in targets):
                    (session if session is not None else notices).append(fallback)
            name, model = _split(given, default)
            prov = providers.get(name)
            model = model or prov.default_model
        else:
            raise ConfigurationError(f"Cannot evaluate target {t!r}.", hint="A target is 'provider:model', a model ID, or (Provider, model).")
        if not model:
            raise ConfigurationError(f"Target '{given}' names no model and {prov.name} has no default model.",
                                     hint=f"Write it as {prov.name}:MODEL_ID.")
        spec = getattr(prov, "spec", None)
        if spec is not None and getattr(spec, "needs_key", False) and prov.key is None:
            env = " or ".join(getattr(spec, "key_env", ()) or ()) or "its key variable"
            raise ConfigurationError(f"No key for {prov.name} (target '{given}'); nothing was sent.",
                                     hint=f"Add one with `%llm keys add {prov.name}` or set {env}.")
        label = label_of(prov.name, model)
        if any(o.label == label for o in out):
            raise ConfigurationError(f"Target '{label}' is given twice.", hint="Use repeat=K to run the same model several times.")
        out.append(EvalTarget(label, given, prov, model))
    if check_models:
        for target in out:
            await _check_model(target, notices)
    return out, notices
