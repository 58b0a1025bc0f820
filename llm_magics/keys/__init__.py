"""API keys and where to connect: the 0600 key store, region checks, the model-list cache, and
`get_provider`, the one place that resolves key, base URL and default model
(argument → environment → key store → `%llm config` → built-in default) above the provider core."""

from __future__ import annotations

from llm_magics.keys.resolve import (
    default_model_for,
    default_provider_choice,
    default_provider_name,
    get_provider,
    resolve_key,
)

__all__ = [
    "get_provider",
    "resolve_key",
    "default_provider_choice",
    "default_provider_name",
    "default_model_for",
]
