"""Retry policy (full-jitter exponential backoff) and the process-wide client-side rate limiter.

Why full jitter: when a parallel discussion hits a 429, every caller retrying on the same schedule
is exactly the "reconnect storm" that keeps the limit tripped; random delays in
``[0, min(cap, base * 2**attempt)]`` spread them out. A server's own wait (``Retry-After``,
``retry-after-ms``, or Moonshot's "please try again after N seconds") is a floor on the delay.

The rate limiter spaces request starts ``60 / rpm`` seconds apart for everyone sharing one
provider + base URL + key in this process (all event loops and threads), and a 429 that says how
long to wait pauses all of them, not just the caller that got it.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import random
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RetryPolicy", "RateLimiter", "limiter_for", "parse_retry_after"]

_TRY_AGAIN = re.compile(
    r"(?:try\s+again|retry)\s+(?:after|in)\s+(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)?",
    re.IGNORECASE,
)


def parse_retry_after(headers: Mapping[str, str] | None, message: str | None = None) -> float | None:
    """Seconds the server asked us to wait, from headers or message text; None when it did not say."""
    if headers:
        ms = headers.get("retry-after-ms")
        if ms:
            try:
                return max(0.0, float(ms) / 1000.0)
            except ValueError:
                pass
        ra = headers.get("retry-after")
        if ra:
            try:
                return max(0.0, float(ra))
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(ra)
                    return max(0.0, when.timestamp() - time.time())
                except (TypeError, ValueError):
                    pass
    if message:
        m = _TRY_AGAIN.search(message)
        if m:
            value = float(m.group(1))
            unit = (m.group(2) or "s").lower()
            if unit.startswith("ms") or unit.startswith("milli"):
                return value / 1000.0
            if unit.startswith("m"):
                return value * 60.0
            return value
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to back off. Options: max_retries, backoff_base, backoff_cap."""

    max_retries: int = 2
    base: float = 0.5
    cap: float = 8.0
    #: A server asking for a longer wait than this is not retried (the error says how long).
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Delay before retry number `attempt` (0-based): full jitter, floored by the server's wait."""
        ceiling = min(self.cap, self.base * (2 ** attempt))
        jitter = (rng or random).uniform(0.0, ceiling)
        return max(jitter, retry_after) if retry_after is not None else jitter


class RateLimiter:
    """Spaces request starts `60/rpm` s apart (rpm None = no spacing) and honours shared pauses.

    Thread-safe and loop-agnostic: slots are reserved under a lock, waiting is `asyncio.sleep`.
    `granted` keeps the reserved start times (monotonic) of the last requests, for tests.
    """

    def __init__(self, rpm: int | None = None) -> None:
        self._lock = threading.Lock()
        self.rpm = rpm
        self._next = 0.0  # earliest monotonic time the next request may start
        self._paused_until = 0.0
        self.granted: list[float] = []

    @property
    def interval(self) -> float:
        return 60.0 / self.rpm if self.rpm else 0.0

    def reserve(self) -> float:
        """Book the next slot; returns how long the caller must wait for it."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._paused_until, self._next if self.rpm else now)
            if self.rpm:
                self._next = slot + self.interval
            self.granted.append(slot)
            if len(self.granted) > 1000:
                del self.granted[:500]
            return slot - now

    async def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Nobody sharing this limiter starts a request for `seconds` (after a 429 with a wait)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + max(0.0, seconds))


_limiters: dict[tuple[str, str, str], RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(provider: str, base_url: str, key: str | None, rpm: int | None) -> RateLimiter:
    """The one limiter for provider + base URL + key in this process (key kept only as a hash)."""
    fingerprint = hashlib.sha256((key or "").encode()).hexdigest()[:16]
    ident = (provider, base_url.rstrip("/"), fingerprint)
    with _limiters_lock:
        lim = _limiters.get(ident)
        if lim is None:
            lim = _limiters[ident] = RateLimiter(rpm)
        elif rpm is not None and rpm != lim.rpm:
            lim.rpm = rpm  # the latest configuration wins for everyone sharing the key
        return lim
