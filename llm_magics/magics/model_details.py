"""The `%llm models` table with lifecycle marks, prices and (`--details`) Kimi's parameter rules.

Lifecycle: against a live (or cached) `/v1/models` list, a built-in catalogue ID the server does
not list is "not served" (retired, or not on this account/region), and a listed ID the built-in
catalogue does not know is "new". With only the built-in list there is nothing to compare, and
the note says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llm_magics.keys.models import ModelList

__all__ = ["lifecycle", "models_table"]


def lifecycle(ml: ModelList) -> tuple[list[str], list[str]]:
    """(new IDs, not-served IDs) of a live/cached list against the provider's built-in catalogue."""
    from llm_magics.providers.registry import PROVIDERS

    if ml.source not in ("live", "cache"):
        return [], []
    try:
        builtin = list(PROVIDERS[ml.provider].builtin_models)
    except Exception:  # noqa: BLE001 - a plugin without a spec has no catalogue
        builtin = []
    if not builtin:
        return [], []
    served = set(ml.ids)
    return [m for m in ml.ids if m not in builtin], [m for m in builtin if m not in served]


def _price(provider: str, model: str, base_url: str) -> str:
    from llm_magics.errors import ConfigurationError
    from llm_magics.magics.prices import _rate
    from llm_magics.pricing.catalog import catalog

    try:
        p = catalog().lookup(provider, model, base_url or None)
    except ConfigurationError:
        return "— (prices.yaml has an error: %llm prices)"
    if p is None:
        return "—"
    cached = f" / {_rate(p.cached_input, p.currency)} cached" if p.cached_input is not None else ""
    return f"{_rate(p.input, p.currency)}{cached} / {_rate(p.output, p.currency)} out"


def models_table(ml: ModelList, *, details: bool = False) -> Any:
    from llm_magics.magics.table import Table

    new, gone = lifecycle(ml)
    headers = ["model ID", "status", "price per 1M (in / cached / out)"]
    if details and ml.provider == "kimi":
        headers += ["fixed (never sent)", "thinking"]
    rows: list[list[str]] = []

    def row(mid: str, status: str) -> None:
        cells = [mid, status, _price(ml.provider, mid, ml.base_url)]
        if len(headers) > 3:
            from llm_magics.providers.kimi_params import describe_params

            d = describe_params(mid)
            cells += [d["fixed"], d["thinking"]]
        rows.append(cells)

    for mid in ml.ids:
        marks = ["default"] if mid == ml.default_model else []
        if mid in new:
            marks.append("new (not in the built-in list)")
        row(mid, ", ".join(marks))
    for mid in gone:
        row(mid, "not served (missing from /v1/models)" + (", default" if mid == ml.default_model else ""))
    notes = [ml.note] if ml.note else []
    if ml.source in ("live", "cache") and (new or gone):
        notes.append(f"{len(new)} new, {len(gone)} not served compared with the built-in list.")
    elif ml.source not in ("live", "cache"):
        notes.append("Lifecycle marks need the server's list (add a key, or --refresh).")
    if ml.default_model and ml.default_model in gone:
        from llm_magics.providers.suggest import closest

        near = closest(ml.default_model, ml.ids)
        notes.append(f"The default model {ml.default_model} is not served here"
                     + (f"; closest served: {', '.join(near)}." if near else "."))
    return Table(headers, rows, title=ml.heading(), note=" ".join(notes))
