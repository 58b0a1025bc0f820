"""Provider adapters behind one contract (`Provider`) and one registry (`PROVIDERS`)."""

from __future__ import annotations

from llm_magics.providers._registry import (
    ENTRY_POINT_GROUP,
    PROVIDERS,
    ProviderSpec,
    get_provider,
    resolve_key,
)
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

__all__ = [
    "PROVIDERS",
    "ENTRY_POINT_GROUP",
    "ProviderSpec",
    "get_provider",
    "resolve_key",
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
