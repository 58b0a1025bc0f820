"""'Did you mean …' for model IDs, persona names and anything else looked up by name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]


def closest(name: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    """The `n` candidates most like `name` (case-insensitive).

    Completions of what was typed come first, shortest first ('kimi-k2-0711' → 'kimi-k2-0711-preview'),
    then the closest by similarity.
    """
    pool = list(dict.fromkeys(candidates))
    if not name or not pool:
        return []
    low = name.lower()
    by_low: dict[str, str] = {}
    for c in pool:
        by_low.setdefault(c.lower(), c)
    prefixed = sorted((c for c in pool if c.lower().startswith(low) and c.lower() != low), key=len)
    fuzzy = [by_low[m] for m in difflib.get_close_matches(low, list(by_low), n=n + len(prefixed), cutoff=cutoff)]
    out: list[str] = []
    for c in prefixed + fuzzy:
        if c not in out:
            out.append(c)
    return out[:n]


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """A ready-to-print clause: "Did you mean 'a' or 'b'?" (empty when nothing is close)."""
    hits = closest(name, candidates)
    if not hits:
        return ""
    quoted = [f"'{h}'" for h in hits]
    body = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"Did you mean {body}?"
