"""`%llm prices [PROVIDER]`: the price catalogue with the date and source page of every number."""

from __future__ import annotations

from typing import Any

from llm_magics.magics.args import SubParser, parse

HELP = "prices per million tokens (input / cached input / output), with date and source; user overrides"

__all__ = ["HELP", "main", "prices_table"]


_SYMBOLS = {"USD": "$", "CNY": "¥", "EUR": "€", "GBP": "£"}


def _rate(x: float | None, currency: str) -> str:
    """0.95 → "$0.95", 0.075 → "$0.075", 4 → "$4.00" (as providers publish them)."""
    if x is None:
        return "—"
    whole, _, frac = f"{x:.4f}".partition(".")
    frac = frac.rstrip("0").ljust(2, "0")
    symbol = _SYMBOLS.get(currency.upper(), "")
    return f"{symbol}{whole}.{frac}"


def prices_table(provider: str | None = None) -> Any:
    """The table (`Table`): one row per model; an unpriced built-in model appears with "—"."""
    from llm_magics.magics.table import Table
    from llm_magics.pricing.catalog import BUILTIN, catalog, user_prices_path
    from llm_magics.providers.registry import PROVIDERS

    cat = catalog()
    name = PROVIDERS[provider].name if provider else None
    rows: list[list[str]] = []
    seen: set[tuple[str, str]] = set()
    for p in cat.entries(name):
        seen.add((p.provider, p.model))
        where = p.section if p.host else p.provider
        cached = _rate(p.cached_input, p.currency) if p.cached_input is not None else "= input"
        origin = "yours" if p.origin != BUILTIN else "built-in"
        rows.append([where, p.model, _rate(p.input, p.currency), cached, _rate(p.output, p.currency), p.currency,
                     p.date or "—", p.source or "—", origin])
    # Catalogue models the providers list but that have no price: shown, never guessed.
    unpriced = []
    for prov in [name] if name else list(PROVIDERS):
        try:
            spec = PROVIDERS[prov]
        except Exception:  # noqa: BLE001 - a broken plugin must not hide the table
            continue
        for model in spec.builtin_models:
            if (spec.name, model) not in seen:
                unpriced.append(model)
                rows.append([spec.name, model, "—", "—", "—", "", "", "", ""])
    notes = ["Per million tokens. \"= input\": no separate cache-hit price."]
    if unpriced:
        notes.append(f"— : no published single price known ({', '.join(unpriced)}); costs show — rather than a guess.")
    path = user_prices_path()
    from llm_magics.config import display_path

    notes.append(f"Override or add prices in {display_path(path)}" + (" (loaded)." if cat.user_count else " (not present)."))
    return Table(["provider", "model", "input", "cached input", "output", "currency", "date", "source", "from"],
                 rows, title="Prices" + (f" — {name}" if name else ""), note=" ".join(notes))


def main(shell: Any, argv: list[str], cell: str | None) -> Any:
    from llm_magics.magics.table import show

    p = SubParser("%llm prices", description=HELP)
    p.add_argument("provider", nargs="?", default=None, help="only this provider")
    args = parse(p, argv)
    if args is None:
        return None
    show(prices_table(args.provider))
    return None
