"""Where a provider's key, base URL and default model come from: the one resolution point.

The provider core (`llm_magics.providers`) takes everything explicitly; this module fills it in,
in one order for each setting: explicit argument → environment → key store / `%llm config` →
the provider's built-in default. With no provider name: `LLM_MAGICS_PROVIDER` (or `%llm config
provider=`), else kimi when a Kimi key is found, else offline (with a notice saying how to add a key).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from llm_magics import config
from llm_magics.providers import registry
from llm_magics.providers.registry import ProviderSpec

if TYPE_CHECKING:
    from llm_magics.providers.base import KeyRef, Provider

__all__ = [
    "get_provider",
    "resolve_key",
    "resolve_base_url",
    "default_provider_choice",
    "default_provider_name",
    "default_model_for",
]


def _env(names: tuple[str, ...]) -> tuple[str, str] | None:
    for var in names:
        value = os.environ.get(var, "").strip()
        if value:
            return var, value
    return None


def resolve_key(spec: ProviderSpec, api_key: str | None = None) -> KeyRef | None:
    """Explicit argument > environment variable > newest stored key not marked invalid."""
    from llm_magics.providers.base import KeyRef, Secret

    if api_key:
        return KeyRef(Secret(api_key), "explicit")
    found = _env(spec.key_env)
    if found:
        return KeyRef(Secret(found[1]), f"env:{found[0]}")
    if not spec.needs_key and not spec.key_env:
        return None
    from llm_magics.keys import store

    return store.resolve_stored(spec.name)


def resolve_base_url(spec: ProviderSpec, base_url: str | None = None) -> str:
    """Explicit argument > environment variable > the provider's default."""
    found = _env(spec.base_url_env)
    return base_url or (found[1] if found else None) or spec.default_base_url


def default_provider_choice() -> tuple[str, str | None]:
    """(provider name, notice). The notice is set when we fell back to offline for want of a key."""
    configured = config.get("provider")
    if configured:
        return registry.PROVIDERS[configured].name, None
    kimi = registry.PROVIDERS[registry.PROVIDERS.KIMI]
    if resolve_key(kimi) is not None:
        return kimi.name, None
    env_names = " or ".join(kimi.key_env)
    notice = (
        f"No Kimi key found, so the offline demo provider answers (text is generated locally, not by a model). "
        f"Add a key with `%llm keys add {kimi.name}` or set {env_names}."
    )
    return registry.PROVIDERS.OFFLINE, notice


def default_provider_name() -> str:
    return default_provider_choice()[0]


def default_model_for(provider: str) -> str | None:
    """The configured model applies only to the default provider (a Kimi ID means nothing to OpenAI)."""
    model = config.get("model")
    if not model:
        return None
    return model if provider == default_provider_name() else None


def get_provider(
    name: str | None = None,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    **options: Any,
) -> Provider:
    """Build a provider by name: key, base URL and default model resolved for you.

    Order for each: explicit argument > environment > `%llm config` / key store > built-in default.
    With no name, `LLM_MAGICS_PROVIDER`, else kimi if a Kimi key is found, else offline.
    For a provider built from explicit settings only, use `llm_magics.providers.create`.
    """
    if name is None:
        name = default_provider_name()
    spec = registry.PROVIDERS[name]
    provider = registry.create(
        spec.name,
        api_key=resolve_key(spec, api_key),
        base_url=resolve_base_url(spec, base_url),
        model=model or default_model_for(spec.name) or spec.default_model,
        **{**config.request_defaults(), **options},
    )
    from llm_magics.pricing.cost import pricer_for

    # Every finished call gets `Completion.cost` from the price catalogue (region-aware by base URL).
    provider.pricer = pricer_for(provider.name, provider.base_url or None)
    for wrap in registry.PROVIDER_WRAPPERS:
        provider = wrap(provider)
    return provider
