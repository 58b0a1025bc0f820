"""The price catalogue: built-in entries carry date + source, the user file overrides and adds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llm_magics.errors import ConfigurationError
from llm_magics.pricing.catalog import PriceCatalog, catalog, user_prices_path


def test_every_builtin_entry_has_a_date_and_a_source_url() -> None:
    entries = PriceCatalog.load().entries()
    assert len(entries) >= 20
    for p in entries:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.date), p
        assert p.source, p
        if p.provider != "offline":
            assert p.source.startswith("https://"), p
        assert p.input >= 0 and p.output >= 0


def test_builtin_kimi_prices_are_the_published_ones() -> None:
    # The numbers the issue quotes from Moonshot's pricing pages (USD per million tokens).
    cat = PriceCatalog.load()
    k26 = cat.lookup("kimi", "kimi-k2.6")
    assert k26 is not None
    assert (k26.input, k26.cached_input, k26.output, k26.currency) == (0.95, 0.16, 4.00, "USD")
    k25 = cat.lookup("kimi", "kimi-k2.5")
    assert k25 is not None
    assert (k25.input, k25.cached_input, k25.output) == (0.60, 0.10, 3.00)


def test_china_host_uses_the_cny_section() -> None:
    cat = PriceCatalog.load()
    cn = cat.lookup("kimi", "kimi-k2.6", "https://api.moonshot.cn/v1")
    assert cn is not None and cn.currency == "CNY" and (cn.input, cn.cached_input, cn.output) == (6.50, 1.10, 27.00)
    ai = cat.lookup("kimi", "kimi-k2.6", "https://api.moonshot.ai/v1")
    assert ai is not None and ai.currency == "USD"
    # A host that merely ends in the same letters is not the China platform.
    other = cat.lookup("kimi", "kimi-k2.6", "https://notmoonshot.cn/v1")
    assert other is not None and other.currency == "USD"


def test_unknown_model_has_no_price() -> None:
    cat = PriceCatalog.load()
    assert cat.lookup("kimi", "moonshot-v1-auto") is None  # tiered per request: deliberately unpriced
    assert cat.lookup("openai", "gpt-4o-2024-05-13") is None  # exact IDs only: no date stripping
    assert cat.lookup("kimi", None) is None


def test_user_file_overrides_and_adds(isolated_home: Path) -> None:
    path = user_prices_path()
    assert path == isolated_home / "prices.yaml"
    path.write_text(
        "kimi:\n"
        "  kimi-k2.6: {input: 1.00, cached_input: 0.20, output: 5.00, currency: USD, date: 2026-12-01,"
        " source: \"https://example.test/prices\"}\n"
        "openai-compatible:\n"
        "  my-local-model: {input: 0, output: 0, currency: USD}\n",
        encoding="utf-8",
    )
    cat = catalog()
    k26 = cat.lookup("kimi", "kimi-k2.6")
    assert k26 is not None
    assert (k26.input, k26.cached_input, k26.output, k26.date) == (1.00, 0.20, 5.00, "2026-12-01")
    assert k26.origin == str(path)
    assert cat.lookup("openai-compatible", "my-local-model") is not None
    # Built-ins the file does not mention stay.
    k25 = cat.lookup("kimi", "kimi-k2.5")
    assert k25 is not None and k25.input == 0.60
    # Editing the file is picked up without restarting.
    path.write_text("kimi:\n  kimi-k2.6: {input: 2.00, output: 8.00, currency: USD}\n", encoding="utf-8")
    again = catalog().lookup("kimi", "kimi-k2.6")
    assert again is not None and again.input == 2.00 and again.cached_input is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("kimi:\n  kimi-k2.6: {input: 1, output: 2, colour: red}\n", "unknown field(s) colour"),
        ("kimi:\n  kimi-k2.6: {input: -1, output: 2}\n", "negative"),
        ("kimi:\n  kimi-k2.6: {input: cheap, output: 2}\n", "not a number"),
        ("kimi:\n  kimi-k2.6: {output: 2}\n", "'input' is missing"),
        ("kimi:\n  kimi-k2.6: [1, 2]\n", "expected a mapping"),
        ("kimi: [\n", "line"),
    ],
)
def test_bad_user_file_names_the_entry(text: str, needle: str) -> None:
    user_prices_path().write_text(text, encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        catalog()
    assert needle in str(err.value)
    assert "prices.yaml" in str(err.value)
