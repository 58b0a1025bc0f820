"""Bind each seat's target ("kimi:kimi-k2.6", "kimi-k2-thinking", None) to a provider and a model.

Checked before any chat request, so a typo costs nothing: a provider that needs a key must have
one, and the model must be in the provider's model list (`keys.models`: the hourly cache, else
`/v1/models`, else the dated built-in list). Every bad target is reported in one error with
"did you mean". Seats on the run's default provider share its instance (same key, base URL and
rate limiter); another provider is built once with `get_provider` and closed at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llm_magics.errors import ConfigurationError

if TYPE_CHECKING:
    from llm_magics.keys.models import ModelList
    from llm_magics.providers.base import Provider

__all__ = ["Binding", "Bindings", "split_target"]


@dataclass(frozen=True)
class Binding:
    """Where one persona's requests go."""

    provider: Provider
    model: str

    @property
    def target(self) -> str:
        """ "provider:model", as the transcript, panes and exports name it."""
        return f"{self.provider.name}:{self.model}"


def split_target(text: str, default_provider: str) -> tuple[str, str | None]:
    """ "kimi:kimi-k2.6" → ("kimi", "kimi-k2.6"); "kimi" → ("kimi", None); "kimi-k2.6" → (default, "kimi-k2.6").

    The prefix is a provider only when registered, so IDs with a colon ("llama3:8b") stay model IDs.
    """
    from llm_magics.providers.registry import PROVIDERS

    text = text.strip()
    prefix, sep, rest = text.partition(":")
    if sep and prefix.strip() in PROVIDERS:
        return PROVIDERS[prefix.strip()].name, rest.strip() or None
    if not sep and text in PROVIDERS:
        return PROVIDERS[text].name, None
    return default_provider, text


class Bindings:
    """The providers of one discussion: the default one, plus one per other provider named."""

    def __init__(self, default: Provider, default_model: str) -> None:
        self.default = Binding(default, default_model)
        self._providers: dict[str, Provider] = {default.name: default}
        self._owned: list[Provider] = []
        self._lists: dict[str, ModelList] = {}

    def _provider(self, name: str) -> Provider:
        if name not in self._providers:
            from llm_magics.keys.resolve import get_provider

            provider = get_provider(name)
            self._owned.append(provider)
            self._providers[name] = provider
        return self._providers[name]

    async def _models(self, provider: Provider) -> ModelList:
        if provider.name not in self._lists:
            from llm_magics.keys.models import alist_models

            self._lists[provider.name] = await alist_models(provider=provider)
        return self._lists[provider.name]

    async def _bind_one(self, who: str, target: str) -> Binding:
        from llm_magics.providers.registry import PROVIDERS
        from llm_magics.providers.suggest import did_you_mean

        name, model = split_target(target, self.default.provider.name)
        provider = self._provider(name)
        spec = provider.spec
        if spec is not None and spec.needs_key and provider.key is None:
            env = " or ".join(spec.key_env)
            raise ConfigurationError(
                f"{who}@{target}: no API key for {spec.title}.",
                hint=f"Add one with `%llm keys add {spec.name}`" + (f" or set {env}" if env else "") + ".",
            )
        model_id = await provider.aresolve_model(model)
        listed = await self._models(provider)
        if listed.ids and model_id not in listed.ids:
            hints: list[str] = []
            prefix, sep, _ = target.partition(":")
            if sep and name == self.default.provider.name and prefix.strip() not in PROVIDERS:
                dym = did_you_mean(prefix.strip(), list(PROVIDERS))
                if dym:
                    hints.append(f"'{prefix.strip()}' is not a provider. {dym}")
            dym = did_you_mean(model_id, listed.ids)
            if dym:
                hints.append(dym)
            hints.append(f"`%llm models {name}` lists its {len(listed.ids)} models ({listed.source} list).")
            raise ConfigurationError(f"{who}@{target}: {name} has no model '{model_id}'.", hint=" ".join(hints))
        return Binding(provider, model_id)

    async def bind(self, wanted: Sequence[tuple[str, str | None]]) -> list[Binding]:
        """(persona name, target or None) → bindings; all bad targets reported in one error."""
        out: list[Binding] = []
        problems: list[ConfigurationError] = []
        for who, target in wanted:
            if not target:
                out.append(self.default)
                continue
            try:
                out.append(await self._bind_one(who, target))
            except ConfigurationError as exc:
                problems.append(exc)
        if len(problems) == 1:
            raise problems[0]
        if problems:
            lines = [f"- {p.message}" + (f" {p.hint}" if p.hint else "") for p in problems]
            raise ConfigurationError(
                f"{len(problems)} persona targets are not usable:\n" + "\n".join(lines),
                hint="Write targets as provider:model (e.g. kimi:kimi-k2.6) or a model ID of the default provider.",
            )
        return out

    async def aclose(self) -> None:
        for provider in self._owned:
            try:
                await provider.aclose()
            except Exception:  # closing must never hide the run's result
                pass
