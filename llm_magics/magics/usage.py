"""`%llm usage [--since 7d] [--by model|provider|day|kind]`: tokens and cost from the history.

Every stored call (discussion turns, workflow steps, compare attempts, eval calls) is counted with
the cost it was shown with when it ran; calls saved before costs existed are priced from today's
catalogue. Unpriced calls are counted apart ("3 unpriced"), never as zero.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llm_magics.magics.args import SubParser, parse

if TYPE_CHECKING:
    from llm_magics.history.store import History
    from llm_magics.pricing.cost import CostTotal
    from llm_magics.pricing.ledger import CallRecord

HELP = "tokens and cost totals from the history (--since 7d, --by model|provider|day|kind)"

__all__ = ["HELP", "main", "usage_table", "parse_since", "UsageRow", "usage_rows"]

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_BY = ("model", "provider", "day", "kind")


def parse_since(text: str | None, now: float | None = None) -> float | None:
    """"7d" / "12h" / "2w" / "30m" → epoch seconds that long ago; "2026-11-01" → that local midnight."""
    from llm_magics.errors import ConfigurationError

    if not text:
        return None
    now = time.time() if now is None else now
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*", text.lower())
    if m:
        return now - float(m.group(1)) * _UNITS[m.group(2)]
    try:
        return time.mktime(time.strptime(text.strip(), "%Y-%m-%d"))
    except ValueError:
        raise ConfigurationError(f"--since {text!r}: expected e.g. 7d, 12h, 2w or a date like 2026-11-01.",
                                 hint="%llm usage --since 7d --by model") from None


@dataclass
class UsageRow:
    key: str
    calls: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    costs: list[Any] = field(default_factory=list)

    @property
    def cost(self) -> CostTotal:
        from llm_magics.pricing.cost import CostTotal

        return CostTotal.of(self.costs)


def _calls(history: History, since: float | None) -> Iterator[tuple[Any, CallRecord]]:
    """(run record, call) for every call of every run created since `since`."""
    from llm_magics.pricing.ledger import calls_in

    for rec in history.list(1_000_000):
        if since is not None and rec.created_at < since:
            break  # newest first
        if rec.kind == "eval":
            from llm_magics.history.calls import CallLog

            for target, _item, _rep, data in CallLog(history.path).read(rec.id):
                provider, _, model = target.partition(":") if ":" in target else (rec.provider or "", "", target)
                for call in calls_in(data, provider or rec.provider, model or rec.model):
                    yield rec, call
            continue
        for call in calls_in(rec.data, rec.provider, rec.model):
            yield rec, call


def usage_rows(by: str = "model", since: float | None = None, *, history: History | None = None) -> list[UsageRow]:
    from llm_magics.history.store import default_history

    hist = history or default_history()
    rows: dict[str, UsageRow] = {}
    for rec, call in _calls(hist, since):
        if by == "day":
            key = time.strftime("%Y-%m-%d", time.localtime(rec.created_at))
        elif by == "kind":
            key = rec.kind
        elif by == "provider":
            key = call.provider or "?"
        else:
            key = f"{call.provider or '?'}:{call.model or '?'}"
        row = rows.setdefault(key, UsageRow(key))
        row.calls += 1
        row.prompt_tokens += call.usage.prompt_tokens
        row.cached_tokens += call.usage.cached_tokens or 0
        row.completion_tokens += call.usage.completion_tokens
        row.costs.append(call.cost)
    order = sorted(rows.values(), key=lambda r: r.key, reverse=by == "day")
    return order


def usage_table(by: str = "model", since: str | None = None, *, history: History | None = None) -> Any:
    from llm_magics.magics.table import Table
    from llm_magics.pricing.cost import CostTotal

    when = parse_since(since)
    rows = usage_rows(by, when, history=history)
    total = CostTotal.of(c for r in rows for c in r.costs)
    out = [[r.key, f"{r.calls:,}", f"{r.prompt_tokens:,}", f"{r.cached_tokens:,}", f"{r.completion_tokens:,}",
            r.cost.format()] for r in rows]
    if len(rows) > 1:
        out.append(["total", f"{sum(r.calls for r in rows):,}", f"{sum(r.prompt_tokens for r in rows):,}",
                    f"{sum(r.cached_tokens for r in rows):,}", f"{sum(r.completion_tokens for r in rows):,}",
                    total.format()])
    scope = f"since {since}" if since else "all history"
    note = "Cost as shown when each call ran; — / unpriced: no price in the catalogue (`%llm prices`)."
    if not rows:
        note = "No calls recorded " + (f"since {since}." if since else "yet.")
    from llm_magics.pricing import budget

    note += f" This session: {budget.status()}."
    return Table([by, "calls", "prompt tokens", "cached", "output tokens", "cost"], out,
                 title=f"Usage by {by} ({scope})", note=note)


def main(shell: Any, argv: list[str], cell: str | None) -> Any:
    from llm_magics.magics.table import show

    p = SubParser("%llm usage", description=HELP)
    p.add_argument("--since", default=None, help="7d, 12h, 2w, 30m or a date (YYYY-MM-DD); default: everything")
    p.add_argument("--by", default="model", choices=_BY, help="group rows by model (default), provider, day or kind")
    args = parse(p, argv)
    if args is None:
        return None
    show(usage_table(args.by, args.since))
    return None
