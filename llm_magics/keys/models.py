"""Which model IDs exist: live from `/v1/models`, cached for an hour, else a dated built-in list.

The seed guessed model IDs; here every unknown ID gets "did you mean …" from the best list we
have. The cache lives in `LLM_MAGICS_HOME/models/<provider>.json` and remembers the base URL it
came from (a different region or server means a different list). With no key or no network we
fall back to the stale cache, then to the spec's `builtin_models`, always saying so in `note`.
"""

from __future__ import annotations

import html
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llm_magics.providers.base import Provider

__all__ = ["ModelList", "ordered", "list_models", "alist_models", "suggest", "cached_ids", "acheck_model", "check_model", "CACHE_TTL_S"]

#: How long a fetched list is trusted without `refresh=True`.
CACHE_TTL_S = 3600.0


@dataclass
class ModelList:
    """Model IDs plus where they came from: "live" (just fetched), "cache" or "builtin"."""

    ids: list[str]
    source: str
    fetched_at: float | None
    provider: str
    note: str = ""
    base_url: str = ""
    default_model: str | None = field(default=None, repr=False)

    def __iter__(self) -> Any:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, item: object) -> bool:
        return item in self.ids

    def heading(self) -> str:
        where = f" at {self.base_url}" if self.base_url else ""
        return f"{self.provider}: {len(self.ids)} models{where} — source: {self.source}"

    def label(self, model_id: str) -> str:
        """What a row is: the default, an offline demo model, a Kimi ID the offline provider simulates."""
        bits = []
        if model_id == self.default_model:
            bits.append("default")
        if self.source == "offline":
            bits.append("offline demo" if model_id.startswith("offline-") else "Kimi ID, answered offline")
        return ", ".join(bits)

    def __str__(self) -> str:
        lines = [self.heading()]
        if self.note:
            lines.append(self.note)
        for mid in self.ids:
            label = self.label(mid)
            lines.append(f"  {mid}  ({label})" if label else f"  {mid}")
        return "\n".join(line.rstrip() for line in lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td style='text-align:left'><code>{html.escape(m)}</code></td>"
            f"<td style='text-align:left'>{html.escape(self.label(m))}</td></tr>"
            for m in self.ids
        )
        note = f"<p><em>{html.escape(self.note)}</em></p>" if self.note else ""
        return (
            f"<p><strong>{html.escape(self.heading())}</strong></p>{note}"
            "<table><thead><tr><th style='text-align:left'>model ID</th><th style='text-align:left'></th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )


def ordered(provider: str, ids: list[str], default: str | None) -> list[str]:
    """Useful order: the default first, then the provider's curated list (current models before
    previews and retired ones), then IDs it does not know yet, alphabetically."""
    from llm_magics.providers.registry import PROVIDERS

    try:
        curated = list(PROVIDERS[provider].builtin_models)
    except Exception:  # noqa: BLE001 - an unregistered name just has no curated order
        curated = []
    rank = {m: i for i, m in enumerate(curated)}
    unique = list(dict.fromkeys(ids))
    return sorted(unique, key=lambda m: (m != default, m not in rank, rank.get(m, 0), m))


def _cache_file(provider: str) -> Path:
    from llm_magics import config

    return config.home() / "models" / f"{provider}.json"


def _read_cache(provider: str) -> dict[str, Any] | None:
    path = _cache_file(provider)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("ids"), list):
        return None
    return data


def _write_cache(provider: str, ids: list[str], base_url: str, fetched_at: float) -> None:
    path = _cache_file(provider)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"ids": ids, "base_url": base_url, "fetched_at": fetched_at}), encoding="utf-8")
        tmp.replace(path)
    except OSError:  # a read-only home only costs us the cache
        pass


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _builtin(name: str, base_url: str, why: str, default: str | None) -> ModelList:
    from llm_magics.providers.registry import PROVIDERS

    spec = PROVIDERS[name]
    if spec.builtin_models:
        note = f"built-in list as of {spec.builtin_models_date or 'release'}; {why}"
    else:
        note = f"no built-in list for {name}; {why}"
    return ModelList(list(spec.builtin_models), "builtin", None, name, note, base_url, default)


def _fallback(name: str, base_url: str, why: str, default: str | None) -> ModelList:
    """Stale cache for the same base URL if any, else the built-in list."""
    cached = _read_cache(name)
    if cached and cached.get("base_url") == base_url:
        at = float(cached.get("fetched_at") or 0)
        return ModelList(
            ordered(name, [str(i) for i in cached["ids"]], default), "cache", at, name,
            f"cached list from {_when(at)}; {why}", base_url, default,
        )
    return _builtin(name, base_url, why, default)


async def alist_models(provider_name: str | None = None, *, refresh: bool = False, provider: Provider | None = None) -> ModelList:
    """Async twin of `list_models` (use it from async code and from inside the llm-magics loop)."""
    from llm_magics.errors import AuthenticationError, LLMError
    from llm_magics.providers.registry import PROVIDERS
    from llm_magics.keys.resolve import get_provider

    own = provider is None
    if provider is None:
        from llm_magics.providers.http import DIAGNOSTIC_OPTIONS

        # `%llm models --refresh` answers quickly whatever the server does (one attempt, short timeouts).
        provider = get_provider(provider_name, **DIAGNOSTIC_OPTIONS)
    name = provider.name if provider_name is None else PROVIDERS[provider_name].name
    base_url = provider.base_url
    default = provider.default_model
    try:
        if not refresh:
            cached = _read_cache(name)
            if cached and cached.get("base_url") == base_url:
                at = float(cached.get("fetched_at") or 0)
                if time.time() - at < CACHE_TTL_S:
                    return ModelList(
                        ordered(name, [str(i) for i in cached["ids"]], default), "cache", at, name,
                        f"cached list from {_when(at)} (refreshed hourly; --refresh to fetch now)", base_url, default,
                    )
        spec = provider.spec
        if spec is not None and spec.needs_key and provider.key is None:
            env = " or ".join(spec.key_env) or "a key"
            return _fallback(name, base_url, f"no key for {name} (add one with `%llm keys add {name}` or set {env})", default)
        try:
            models = await provider.list_models()
        except AuthenticationError as exc:
            return _fallback(name, base_url, f"{base_url} rejected the key ({exc.status or 401}); `%llm check {name}` diagnoses it", default)
        except LLMError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return _fallback(name, base_url, f"could not reach {base_url or name} ({first})", default)
        ids = [m.id for m in models] if provider.offline else ordered(name, [m.id for m in models], default)
        now = time.time()
        if provider.offline:
            note = ("the offline demo provider (no network, no key): offline-* give canned demo text; the Kimi IDs "
                    "are accepted too, so notebooks written for Kimi run without a key")
            return ModelList(ids, "offline", now, name, note, "", default)
        _write_cache(name, ids, base_url, now)
        return ModelList(ids, "live", now, name, f"fetched from {base_url or name} just now", base_url, default)
    finally:
        if own:
            await provider.aclose()


def list_models(provider_name: str | None = None, *, refresh: bool = False, provider: Provider | None = None) -> ModelList:
    """Model IDs for a provider: cache (< 1 h) > live `/v1/models` > stale cache > dated built-in list.

    Never raises for network or key trouble: the returned `note` says what happened.
    Called from inside the llm-magics loop (where blocking would deadlock), it uses no network.
    """
    from llm_magics.sync import in_background_loop, run_sync

    if in_background_loop():
        from llm_magics.providers.registry import PROVIDERS

        name = provider.name if provider is not None and provider_name is None else PROVIDERS[provider_name or PROVIDERS.OFFLINE].name
        base = provider.base_url if provider is not None else ""
        return _fallback(name, base, "not fetched (called from inside the event loop; use alist_models)", None)
    return run_sync(alist_models(provider_name, refresh=refresh, provider=provider))


def cached_ids(provider_name: str) -> list[str]:
    """The best IDs known without any network: the cache (any age), else the built-in list."""
    from llm_magics.providers.registry import PROVIDERS

    name = PROVIDERS[provider_name].name
    cached = _read_cache(name)
    if cached:
        return [str(i) for i in cached["ids"]]
    return list(PROVIDERS[name].builtin_models)


def suggest(provider_name: str, model_id: str, *, ids: list[str] | None = None) -> list[str]:
    """The closest known model IDs to `model_id` (no network: cached or built-in list unless `ids` given)."""
    from llm_magics.providers.suggest import closest

    pool = ids if ids is not None else cached_ids(provider_name)
    return [m for m in closest(model_id, pool) if m != model_id]


async def acheck_model(provider: Provider, model: str | None, *, where: str = "") -> None:
    """Refuse a model ID the provider does not list, before anything is sent.

    The list is `alist_models` (hourly cache, live `/v1/models`, else the dated built-in list);
    an empty list (unknown server, nothing built in) accepts anything. The error names the
    closest IDs, never the whole list. `where` prefixes the message (e.g. "step 'plan'").
    """
    from llm_magics.errors import ConfigurationError
    from llm_magics.providers.suggest import did_you_mean

    if not model:
        return
    listed = await alist_models(provider=provider)
    if not listed.ids or model in listed.ids:
        return
    hint = did_you_mean(model, listed.ids)
    source = {"builtin": "built-in list", "offline": "offline demo models"}.get(listed.source, f"{listed.source} list")
    more = f"`%llm models {provider.name}` shows all {len(listed.ids)} ({source})."
    prefix = f"{where}: " if where else ""
    raise ConfigurationError(f"{prefix}{provider.name} has no model '{model}'.",
                             hint=f"{hint} {more}" if hint else more)


def check_model(provider_name: str | None, model: str | None) -> None:
    """Synchronous `acheck_model` for a provider by name (e.g. `%llm config model=...`)."""
    from llm_magics.keys.resolve import get_provider
    from llm_magics.sync import run_sync

    if not model:
        return

    async def go() -> None:
        from llm_magics.providers.http import DIAGNOSTIC_OPTIONS

        provider = get_provider(provider_name, **DIAGNOSTIC_OPTIONS)
        try:
            await acheck_model(provider, model)
        finally:
            await provider.aclose()

    run_sync(go())
