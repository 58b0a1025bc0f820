"""How many eval calls may be in flight per provider: the one seam between the eval and rate limiting.

The kernel-wide scheduler (`llm_magics.providers.scheduler`, reached as `provider.scheduler` on
HTTP providers) owns concurrency and requests-per-minute for every magic and adapts to 429s and
the server's rate-limit headers. When a provider has one and the caller gave no `concurrency`,
the eval adds no limit of its own: it only runs enough workers to keep the scheduler busy (its
current concurrency cap, at least `UNCAPPED_WORKERS`, re-read as the scheduler learns). With an explicit `concurrency=N` (or for a
provider without a scheduler, e.g. offline) a per-provider semaphore bounds the eval to N
(default `%llm config concurrency`, else `DEFAULT_CONCURRENCY`); the scheduler still applies below.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llm_magics.providers.base import Provider

__all__ = ["Slots", "DEFAULT_CONCURRENCY", "UNCAPPED_WORKERS", "configured_concurrency"]

DEFAULT_CONCURRENCY = 8
#: Workers per scheduler-owned provider unless its scheduler allows more in flight.
UNCAPPED_WORKERS = 32
#: Never more workers than this per provider (each is a small task; this bounds memory).
MAX_WORKERS = 1024


def configured_concurrency() -> int | None:
    """`%llm config concurrency=N` (or its environment variable) when that setting exists."""
    try:
        from llm_magics import config

        value = config.get("concurrency")
    except Exception:  # noqa: BLE001 - older configs have no such setting
        return None
    return int(value) if value else None


def _scheduler(provider: Provider) -> Any:
    return getattr(provider, "scheduler", None)


class Slots:
    """Per-provider in-flight limits for one eval run."""

    def __init__(self, requested: int | None = None) -> None:
        if requested is not None and int(requested) < 1:
            from llm_magics.errors import ConfigurationError

            raise ConfigurationError(f"concurrency={requested} must be at least 1.")
        self.requested = int(requested) if requested else None
        self._sems: dict[str, asyncio.Semaphore] = {}
        self.limits: dict[str, int] = {}

    def limit(self, provider: Provider) -> int:
        """Calls of this provider the eval keeps going (workers, and the semaphore if we own one).

        Scheduler-owned: at least `UNCAPPED_WORKERS` (a Kimi account starts at Tier-0's limit of 1
        until the server announces its tier; the extra workers just wait inside the scheduler),
        more when the scheduler's cap is higher — read again each time, as it learns.
        """
        key = provider.name
        if not self.owns_limit(provider):
            cap = getattr(_scheduler(provider), "concurrency", None)
            return min(MAX_WORKERS, max(UNCAPPED_WORKERS, int(cap) if cap else 0))
        if key not in self.limits:
            self.limits[key] = max(1, self.requested or configured_concurrency() or DEFAULT_CONCURRENCY)
        return self.limits[key]

    def owns_limit(self, provider: Provider) -> bool:
        """True when the eval bounds this provider itself (explicit concurrency, or no scheduler)."""
        return self.requested is not None or _scheduler(provider) is None

    def workers(self, providers: list[Provider]) -> int:
        """How many worker tasks the run needs: enough to fill every provider's slots."""
        seen: dict[str, Provider] = {p.name: p for p in providers}
        return max(1, sum(self.limit(p) for p in seen.values()))

    @asynccontextmanager
    async def slot(self, provider: Provider) -> AsyncIterator[None]:
        if not self.owns_limit(provider):
            yield  # the scheduler admits the request (and waits, and learns from 429s) inside the provider
            return
        sem = self._sems.get(provider.name)
        if sem is None:
            sem = self._sems[provider.name] = asyncio.Semaphore(self.limit(provider))
        async with sem:
            yield
