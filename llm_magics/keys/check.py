"""Is this key good, and where? `GET /v1/models` on the configured base URL, then the other regions.

A Kimi key from platform.moonshot.cn is rejected (401) by api.moonshot.ai and vice versa; the seed
lost hours to that. On a 401 we try every other URL in the spec's `region_base_urls` and, when one
accepts the key, say exactly which `*_BASE_URL` to set. Tests point the regions at local fake
servers with the env var `LLM_MAGICS_<PROVIDER>_REGIONS` (comma-separated base URLs).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from llm_magics.providers.base import Secret

__all__ = ["KeyCheck", "current_base_url", "base_url_var", "check_secret", "acheck_secret", "region_urls", "regions_env_var", "adiagnose_region"]


@dataclass(frozen=True)
class KeyCheck:
    """The verdict on one key: `status` is valid / invalid / unchecked (could not reach the server)."""

    provider: str
    status: str
    message: str
    base_url: str
    working_url: str | None = None
    fix: str | None = None
    latency_s: float | None = None
    model_ids: list[str] = field(default_factory=list, repr=False)

    @property
    def other_region(self) -> bool:
        return self.working_url is not None and self.working_url != self.base_url

    @property
    def note(self) -> str:
        """Short text stored with the key (shown by `%llm keys list`)."""
        if self.other_region:
            return f"valid only at {self.working_url}"
        if self.status == "invalid":
            return f"rejected by {self.base_url}"
        if self.status == "unchecked":
            return "not checked: server unreachable"
        return ""


def regions_env_var(provider: str) -> str:
    return "LLM_MAGICS_" + provider.upper().replace("-", "_") + "_REGIONS"


def region_urls(provider: str) -> tuple[str, ...]:
    """Base URLs of the same API in every region (override: `LLM_MAGICS_<PROVIDER>_REGIONS`)."""
    from llm_magics.providers.registry import PROVIDERS

    spec = PROVIDERS[provider]
    raw = os.environ.get(regions_env_var(spec.name), "").strip()
    urls = tuple(u.strip() for u in raw.split(",") if u.strip()) if raw else spec.region_base_urls
    return tuple(u.rstrip("/") for u in urls)


def current_base_url(provider: str) -> str:
    """The base URL `get_provider` would use with no argument: the env var, else the built-in default."""
    from llm_magics.providers.registry import PROVIDERS

    spec = PROVIDERS[provider]
    for var in spec.base_url_env:
        value = os.environ.get(var, "").strip()
        if value:
            return value.rstrip("/")
    return spec.default_base_url.rstrip("/")


def base_url_var(provider: str) -> str:
    from llm_magics.providers.registry import PROVIDERS

    spec = PROVIDERS[provider]
    return spec.base_url_env[0] if spec.base_url_env else "base_url"


def _short_title(provider: str) -> str:
    from llm_magics.providers.registry import PROVIDERS

    return PROVIDERS[provider].title.split(" (")[0]


async def _try(provider: str, secret: Secret, base_url: str | None) -> tuple[str, list[str], float, str]:
    """(status, model ids, latency, base url used) for one URL; status 'unchecked' on network trouble."""
    from llm_magics.errors import AuthenticationError, LLMError
    from llm_magics.keys.resolve import get_provider
    from llm_magics.keys.store import quiet_notices
    from llm_magics.providers.http import DIAGNOSTIC_OPTIONS

    with quiet_notices():  # resolving defaults here must not print notices about other stored keys
        # A diagnosis answers quickly whatever the server does: one attempt, short timeouts.
        p = get_provider(provider, api_key=secret.reveal(), base_url=base_url, **DIAGNOSTIC_OPTIONS)
    used = p.base_url
    t0 = time.perf_counter()
    try:
        models = await p.list_models()
    except AuthenticationError:
        return "invalid", [], time.perf_counter() - t0, used
    except LLMError:
        return "unchecked", [], time.perf_counter() - t0, used
    finally:
        await p.aclose()
    return "valid", [m.id for m in models], time.perf_counter() - t0, used


async def adiagnose_region(provider: str, secret: Secret, rejected_url: str) -> str | None:
    """The first other-region base URL that accepts the key (None when none does)."""
    for url in region_urls(provider):
        if url == rejected_url.rstrip("/"):
            continue
        status, _, _, _ = await _try(provider, secret, url)
        if status == "valid":
            return url
    return None


async def acheck_secret(provider: str, secret: Secret | str, *, base_url: str | None = None) -> KeyCheck:
    """Check a key against the configured base URL; on a 401 try the other regions."""
    from llm_magics.providers.registry import PROVIDERS

    name = PROVIDERS[provider].name
    sec = secret if isinstance(secret, Secret) else Secret(secret)
    status, ids, latency, used = await _try(name, sec, base_url)
    if status == "valid":
        return KeyCheck(name, "valid", f"valid: {used} accepted the key ({len(ids)} models).", used, used, None, latency, ids)
    if status == "unchecked":
        return KeyCheck(
            name, "unchecked",
            f"not checked: could not reach {used}. The key was kept as unchecked; run `%llm keys test` later.",
            used, latency_s=latency,
        )
    other = await adiagnose_region(name, sec, used)
    if other:
        var = base_url_var(name)
        fix = f"{var}={other}"
        return KeyCheck(
            name, "valid",
            f"valid only on the other {_short_title(name)} region — set {fix} "
            f"(e.g. `%env {fix}` in the notebook, or in your shell before starting Jupyter); {used} rejected it.",
            used, other, fix, latency,
        )
    spec = PROVIDERS[name]
    where = f" Get a new one at {spec.key_url}." if spec.key_url else ""
    regions = [u for u in region_urls(name) if u != used]
    tried = f" (also tried {', '.join(regions)})" if regions else ""
    return KeyCheck(name, "invalid", f"invalid: {used} rejected the key (401){tried}.{where}", used, latency_s=latency)


def check_secret(provider: str, secret: Secret | str, *, base_url: str | None = None) -> KeyCheck:
    """Sync twin of `acheck_secret` (runs on the llm-magics loop)."""
    from llm_magics.sync import run_sync

    return run_sync(acheck_secret(provider, secret, base_url=base_url))
