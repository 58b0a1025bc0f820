"""PROVIDERS: the one registry of provider names, and `create`, the pure constructor.

No other module spells a provider name: everything (env var names, default base URLs and models,
the dated built-in model lists, region hosts) hangs off a `ProviderSpec` here. Provider classes
are imported only when first used, so `%load_ext llm_magics` never imports httpx. Third-party
providers register under the entry-point group ``llm_magics.providers`` (value: a `Provider`
subclass, optionally with a `spec: ProviderSpec` class attribute).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llm_magics.errors import ConfigurationError

if TYPE_CHECKING:
    from llm_magics.providers.base import KeyRef, Provider

__all__ = ["ProviderSpec", "PROVIDERS", "create", "ENTRY_POINT_GROUP", "PROVIDER_WRAPPERS", "KIMI_GLOBAL", "KIMI_CHINA"]

ENTRY_POINT_GROUP = "llm_magics.providers"

#: Callables applied to every provider `llm_magics.get_provider` builds (e.g. the cassette recorder).
PROVIDER_WRAPPERS: list[Callable[[Provider], Provider]] = []

KIMI_GLOBAL = "https://api.moonshot.ai/v1"
KIMI_CHINA = "https://api.moonshot.cn/v1"


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    target: str  # "module:Class", imported lazily
    title: str
    key_env: tuple[str, ...] = ()
    base_url_env: tuple[str, ...] = ()
    default_base_url: str = ""
    default_model: str | None = None
    needs_key: bool = True
    #: Hosts of the same API in other regions (Kimi: .ai ↔ .cn); used by 401 diagnosis.
    region_base_urls: tuple[str, ...] = ()
    #: Shown when /v1/models cannot be reached; always labelled with `builtin_models_date`.
    builtin_models: tuple[str, ...] = ()
    builtin_models_date: str = ""
    #: Where to get a key, for messages.
    key_url: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)

    def load(self) -> type[Provider]:
        module, _, attr = self.target.partition(":")
        cls: type[Provider] = getattr(importlib.import_module(module), attr)
        return cls


_BUILTIN = (
    ProviderSpec(
        name="kimi",
        target="llm_magics.providers.kimi:KimiProvider",
        title="Kimi (Moonshot AI)",
        key_env=("KIMI_API_KEY", "MOONSHOT_API_KEY"),
        base_url_env=("KIMI_BASE_URL", "MOONSHOT_BASE_URL"),
        default_base_url=KIMI_GLOBAL,
        # kimi-k2.6 is Moonshot's current flagship (thinking by default); older IDs are being retired,
        # which is why every unknown ID gets "did you mean" from the live /v1/models list.
        default_model="kimi-k2.6",
        region_base_urls=(KIMI_GLOBAL, KIMI_CHINA),
        builtin_models=(
            "kimi-k2.6",
            "kimi-k2.5",
            "kimi-k2-thinking",
            "kimi-k2-thinking-turbo",
            "kimi-k2-turbo-preview",
            "kimi-k2-0905-preview",
            "kimi-k2-0711-preview",
            "kimi-latest",
            "moonshot-v1-8k",
            "moonshot-v1-32k",
            "moonshot-v1-128k",
            "moonshot-v1-auto",
        ),
        builtin_models_date="2026-11",
        key_url="https://platform.moonshot.ai/console/api-keys",
    ),
    ProviderSpec(
        name="openai",
        target="llm_magics.providers.openai:OpenAIProvider",
        title="OpenAI",
        key_env=("OPENAI_API_KEY",),
        base_url_env=("OPENAI_BASE_URL",),
        default_base_url="https://api.openai.com/v1",
        default_model="gpt-4o-mini",
        builtin_models=("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "o3-mini", "o4-mini"),
        builtin_models_date="2025-06",
        key_url="https://platform.openai.com/api-keys",
    ),
    ProviderSpec(
        name="anthropic",
        target="llm_magics.providers.anthropic:AnthropicProvider",
        title="Anthropic",
        key_env=("ANTHROPIC_API_KEY",),
        base_url_env=("ANTHROPIC_BASE_URL",),
        default_base_url="https://api.anthropic.com",
        default_model="claude-sonnet-4-5",
        builtin_models=("claude-opus-4-6", "claude-sonnet-4-6", "claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"),
        builtin_models_date="2026-11",
        key_url="https://console.anthropic.com/settings/keys",
    ),
    ProviderSpec(
        name="openai-compatible",
        target="llm_magics.providers.openai_compat:OpenAICompatibleProvider",
        title="OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio)",
        key_env=("OPENAI_COMPATIBLE_API_KEY",),
        base_url_env=("OPENAI_COMPATIBLE_BASE_URL",),
        default_base_url="http://localhost:8000/v1",
        default_model=None,  # taken from the server's /v1/models when not given
        needs_key=False,
    ),
    ProviderSpec(
        name="offline",
        target="llm_magics.providers.offline:OfflineProvider",
        title="Offline (no network; deterministic demo text)",
        default_model="offline-demo",
        needs_key=False,
        builtin_models=("offline-demo", "offline-fast", "offline-slow"),
        builtin_models_date="built-in",
    ),
    ProviderSpec(
        name="replay",
        target="llm_magics.providers.replay:ReplayProvider",
        title="Replay (plays back a recorded cassette, no network)",
        base_url_env=("LLM_MAGICS_CASSETTE",),
        needs_key=False,
    ),
)


class _Registry(Mapping[str, ProviderSpec]):
    """Built-ins first, then entry-point plugins (loaded on the first lookup that needs them)."""

    def __init__(self, specs: tuple[ProviderSpec, ...]) -> None:
        self._specs: dict[str, ProviderSpec] = {s.name: s for s in specs}
        self._plugins_loaded = False

    # Names every module may use instead of spelling a provider name.
    KIMI = "kimi"
    OFFLINE = "offline"
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    OPENAI_COMPATIBLE = "openai-compatible"
    REPLAY = "replay"

    def register(self, spec: ProviderSpec) -> None:
        self._specs[spec.name] = spec

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name in self._specs:
                continue
            spec = ProviderSpec(name=ep.name, target=ep.value, title=ep.name, needs_key=False)
            self._specs[ep.name] = spec

    def __getitem__(self, name: str) -> ProviderSpec:
        key = name.strip().lower()
        if key not in self._specs:
            self._load_plugins()
        try:
            return self._specs[key]
        except KeyError:
            from llm_magics.providers.suggest import did_you_mean

            hint = did_you_mean(key, self._specs) or "Known providers: " + ", ".join(self._specs) + "."
            raise ConfigurationError(f"Unknown provider '{name}'.", hint=hint) from None

    def __contains__(self, name: object) -> bool:
        try:
            self[str(name)]
        except ConfigurationError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        self._load_plugins()
        return iter(list(self._specs))

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._specs)


PROVIDERS = _Registry(_BUILTIN)


def create(
    name: str,
    *,
    api_key: str | KeyRef | None = None,
    base_url: str | None = None,
    model: str | None = None,
    **options: Any,
) -> Provider:
    """Build a provider from explicit settings only: no environment, key store or config is read.

    For people who already hold a key (and for tests): ``create("kimi", api_key="sk-…")``.
    Missing `base_url`/`model` fall back to the provider's built-in defaults. To have the key,
    base URL and model resolved from the environment, key store and `%llm config`, use
    `llm_magics.get_provider()`.
    """
    from llm_magics.providers.base import KeyRef, Secret

    spec = PROVIDERS[name]
    cls = spec.load()
    key = KeyRef(Secret(api_key), "explicit") if isinstance(api_key, str) and api_key else api_key or None
    merged = {**spec.options, **options}
    return cls(
        key=key,
        base_url=base_url or spec.default_base_url,
        default_model=model or spec.default_model,
        spec=spec,
        **merged,
    )
