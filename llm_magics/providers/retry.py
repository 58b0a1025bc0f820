"""Retry policy (full-jitter exponential backoff) and reading how long a server asked us to wait.

Why full jitter: when a parallel discussion hits a 429, every caller retrying on the same schedule
is exactly the "reconnect storm" that keeps the limit tripped; random delays in
``[0, min(cap, base * 2**attempt)]`` spread them out. A server's own wait (``Retry-After``,
``retry-after-ms``, or Moonshot's "please try again after N seconds") is a floor on the delay.

Pacing (concurrency, requests per minute, the limits a server announces) is the shared
scheduler's job: `llm_magics.providers.scheduler`.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RetryPolicy", "parse_retry_after"]

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
