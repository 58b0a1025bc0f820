"""The provider core: one contract (`Provider`), one registry (`PROVIDERS`), the adapters.

It stands on its own: nothing here reads the key store, the session config or the history.
`create(name, api_key=..., base_url=..., model=...)` builds a provider from explicit settings;
`llm_magics.get_provider(name)` resolves those settings first (environment, key store, config).
"""

from __future__ import annotations

from llm_magics.providers.base import (
    CheckReport,
    Chunk,
    Completion,
    KeyRef,
    Message,
    ModelInfo,
    Provider,
    Secret,
    StreamCollector,
    Usage,
    mask_key,
)
from llm_magics.providers.registry import ENTRY_POINT_GROUP, PROVIDERS, ProviderSpec, create

__all__ = [
    "PROVIDERS",
    "ENTRY_POINT_GROUP",
    "ProviderSpec",
    "create",
    "Provider",
    "Chunk",
    "Completion",
    "Usage",
    "ModelInfo",
    "CheckReport",
    "KeyRef",
    "Secret",
    "Message",
    "StreamCollector",
    "mask_key",
]
