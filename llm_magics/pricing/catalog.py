"""The price catalogue: built-in `data/prices.yaml` plus the user's `LLM_MAGICS_HOME/prices.yaml`.

Why a catalogue and not constants: prices change and differ by region (Moonshot bills keys of
api.moonshot.cn in CNY), and every number must carry the date and page it came from so a reader
can check it. A model that is in neither file has *no* price: callers show "—", never a guess.

A model ``"*"`` prices every model of its section that has no entry of its own (used for the offline
demo provider, which costs nothing whatever the model ID). A section named ``provider@host`` applies when the provider's base URL host ends with ``host``
(``kimi@moonshot.cn``); it is consulted before the plain ``provider`` section. An entry in the
user file replaces the built-in entry of the same section and model.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from llm_magics.errors import ConfigurationError

__all__ = ["Price", "PriceCatalog", "catalog", "user_prices_path", "BUILTIN", "PER_TOKENS"]

#: Prices are per this many tokens (per million, as every provider publishes them).
PER_TOKENS = 1_000_000
BUILTIN = "built-in"
_FIELDS = frozenset({"input", "cached_input", "cache_write", "output", "currency", "date", "source", "note"})
_RATES = ("input", "cached_input", "cache_write", "output")


@dataclass(frozen=True)
class Price:
    """One model's prices per million tokens, with where and when they were read."""

    provider: str
    model: str
    input: float
    output: float
    currency: str = "USD"
    cached_input: float | None = None  # None: no separate cache price, cached tokens bill at `input`
    cache_write: float | None = None  # None: cache writes bill at `input`
    date: str = ""
    source: str = ""
    note: str = ""
    host: str = ""  # "" or the host suffix of a `provider@host` section
    origin: str = BUILTIN  # "built-in" or the user file's path

    @property
    def section(self) -> str:
        return f"{self.provider}@{self.host}" if self.host else self.provider


def _split_section(name: str) -> tuple[str, str]:
    provider, _, host = str(name).partition("@")
    return provider.strip().lower(), host.strip().lower()


def _parse_entry(section: str, model: str, raw: Any, origin: str) -> Price:
    where = f"{origin}: {section} → {model}"
    if not isinstance(raw, Mapping):
        raise ConfigurationError(f"{where}: expected a mapping of prices, got {type(raw).__name__}.",
                                 hint="Write e.g. {input: 0.95, cached_input: 0.16, output: 4.00, currency: USD}.")
    unknown = sorted(set(map(str, raw)) - _FIELDS)
    if unknown:
        raise ConfigurationError(f"{where}: unknown field(s) {', '.join(unknown)}.",
                                 hint="Fields: " + ", ".join(sorted(_FIELDS)) + ".")
    rates: dict[str, float | None] = {}
    for name in _RATES:
        value = raw.get(name)
        if value is None:
            if name in ("input", "output"):
                raise ConfigurationError(f"{where}: '{name}' is missing.",
                                         hint="Every entry needs input and output (per million tokens).")
            rates[name] = None
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigurationError(f"{where}: {name}={value!r} is not a number.",
                                     hint="Prices are numbers per million tokens, e.g. 0.95.") from None
        if number < 0:
            raise ConfigurationError(f"{where}: {name}={value!r} is negative.", hint="Prices are ≥ 0.")
        rates[name] = number
    date = raw.get("date")
    if isinstance(date, (_dt.date, _dt.datetime)):
        date = date.isoformat()[:10]
    provider, host = _split_section(section)
    inp, out = rates["input"], rates["output"]
    assert inp is not None and out is not None
    return Price(
        provider=provider,
        model=str(model),
        input=inp,
        output=out,
        currency=str(raw.get("currency") or "USD").upper(),
        cached_input=rates["cached_input"],
        cache_write=rates["cache_write"],
        date=str(date or ""),
        source=str(raw.get("source") or ""),
        note=str(raw.get("note") or ""),
        host=host,
        origin=origin,
    )


def _parse(data: Any, origin: str) -> dict[tuple[str, str, str], Price]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigurationError(f"{origin}: expected provider sections at the top level.",
                                 hint="Start with e.g. `kimi:` and one line per model under it.")
    out: dict[tuple[str, str, str], Price] = {}
    for section, models in data.items():
        if not isinstance(models, Mapping):
            raise ConfigurationError(f"{origin}: section '{section}' must map model IDs to prices.",
                                     hint="e.g. kimi:\\n  kimi-k2.6: {input: 0.95, output: 4.00, currency: USD}")
        for model, raw in models.items():
            price = _parse_entry(str(section), str(model), raw, origin)
            out[(price.provider, price.host, price.model)] = price
    return out


def _load_yaml(text: str, origin: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise ConfigurationError(f"{origin}{line}: not valid YAML: {getattr(exc, 'problem', exc)}.",
                                 hint="Fix the file or remove it to use the built-in prices only.") from None


def user_prices_path() -> Path:
    """`LLM_MAGICS_HOME/prices.yaml`: the user's overrides and additions."""
    from llm_magics import config

    return config.home() / "prices.yaml"


class PriceCatalog:
    """Built-in prices overlaid by the user's file; `lookup` is exact on the model ID."""

    def __init__(self, builtin: Mapping[tuple[str, str, str], Price],
                 user: Mapping[tuple[str, str, str], Price] | None = None, user_path: Path | None = None) -> None:
        self._entries: dict[tuple[str, str, str], Price] = {**builtin, **(user or {})}
        self.user_path = user_path
        self.user_count = len(user or {})

    @classmethod
    def from_texts(cls, builtin_text: str, user_text: str | None = None, user_origin: str = "prices.yaml") -> PriceCatalog:
        builtin = _parse(_load_yaml(builtin_text, BUILTIN), BUILTIN)
        user = _parse(_load_yaml(user_text, user_origin), user_origin) if user_text is not None else None
        return cls(builtin, user)

    @classmethod
    def load(cls, user_path: Path | None = None) -> PriceCatalog:
        from importlib.resources import files

        text = files("llm_magics").joinpath("data/prices.yaml").read_text(encoding="utf-8")
        builtin = _parse(_load_yaml(text, BUILTIN), BUILTIN)
        user: dict[tuple[str, str, str], Price] | None = None
        if user_path is not None and user_path.exists():
            origin = str(user_path)
            user = _parse(_load_yaml(user_path.read_text(encoding="utf-8"), origin), origin)
        return cls(builtin, user, user_path)

    def lookup(self, provider: str, model: str | None, base_url: str | None = None) -> Price | None:
        """The price for `model` on `provider` (region section first), or None when unknown."""
        if not model:
            return None
        prov = provider.strip().lower()
        host = (urlsplit(base_url).hostname or "").lower() if base_url else ""
        if host:
            regional = [p for (pv, h, m), p in self._entries.items() if pv == prov and h and m == model
                        and (host == h or host.endswith("." + h))]
            if regional:
                return max(regional, key=lambda p: len(p.host))
        # A provider-wide "*" entry (the offline demo provider: every model is free) comes last.
        return self._entries.get((prov, "", model)) or self._entries.get((prov, "", "*"))

    def entries(self, provider: str | None = None) -> list[Price]:
        """Every price (one provider's when given), sorted by section then model."""
        prov = provider.strip().lower() if provider else None
        items: Iterable[Price] = self._entries.values()
        if prov:
            items = (p for p in items if p.provider == prov)
        return sorted(items, key=lambda p: (p.provider, p.host, p.model))

    def providers(self) -> list[str]:
        return sorted({p.provider for p in self._entries.values()})


_cache: tuple[tuple[str, int, int], PriceCatalog] | None = None


def catalog() -> PriceCatalog:
    """The session's catalogue; re-read when the user's prices.yaml appears, changes or goes."""
    global _cache
    path = user_prices_path()
    try:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        key = (str(path), -1, -1)
    if _cache is None or _cache[0] != key:
        _cache = (key, PriceCatalog.load(path))
    return _cache[1]
