"""How many eval calls may be in flight per provider: the one seam between the eval and rate limiting.

The kernel-wide scheduler (`llm_magics.providers.scheduler`, when installed) owns concurrency and
requests-per-minute for every magic and learns from 429s; the eval then only needs enough
workers to keep it busy, and its own slots never bind tighter than the scheduler. Without it,
a per-provider semaphore bounds the eval (`concurrency=`, else `%llm config concurrency`, else
`DEFAULT_CONCURRENCY`), and the providers' own requests-per-minute limiter spaces the starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llm_magics.providers.base import Provider

__all__ = ["Slots", "DEFAULT_CONCURRENCY", "configured_concurrency"]

DEFAULT_CONCURRENCY = 8


def configured_concurrency() -> int | None:
    """`%llm config concurrency=N` (or its environment variable) when that setting exists."""
    try:
        from llm_magics import config

        value = config.get("concurrency")
    except Exception:  # noqa: BLE001 - the setting arrives with the scheduler
        return None
    return int(value) if value else None


def _scheduler_limit(provider: Provider) -> int | None:
    """The scheduler's current concurrency for this provider+key, when a scheduler is installed."""
    try:
        from llm_magics.providers import scheduler as sched  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return None
    fn: Any = getattr(sched, "concurrency_for", None)
    if fn is None:
        return None
    try:
        value = fn(provider)
    except Exception:  # noqa: BLE001 - an unknown provider shape: fall back to our own slots
        return None
    return int(value) if value else None


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
        key = provider.name
        if key not in self.limits:
            n = self.requested or configured_concurrency() or DEFAULT_CONCURRENCY
            sched = _scheduler_limit(provider)
            if sched is not None and self.requested is None:
                n = max(n, sched)
            self.limits[key] = n
        return self.limits[key]

    def workers(self, providers: list[Provider]) -> int:
        """How many worker tasks the run needs: enough to fill every provider's slots."""
        seen: dict[str, Provider] = {p.name: p for p in providers}
        return max(1, sum(self.limit(p) for p in seen.values()))

    @asynccontextmanager
    async def slot(self, provider: Provider) -> AsyncIterator[None]:
        sem = self._sems.get(provider.name)
        if sem is None:
            sem = self._sems[provider.name] = asyncio.Semaphore(self.limit(provider))
        async with sem:
            yield
