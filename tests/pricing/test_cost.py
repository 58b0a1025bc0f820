"""Tokens × prices, computed by hand in each test (USD per million tokens unless stated)."""

from __future__ import annotations

import pytest

from llm_magics.pricing.catalog import PriceCatalog
from llm_magics.pricing.cost import CostTotal, compute_cost, cost_of, format_cost
from llm_magics.providers.base import Completion, Cost, StreamCollector, Usage, Chunk

CAT = PriceCatalog.load()


def test_kimi_k26_cached_tokens_bill_at_the_cache_hit_rate() -> None:
    # 1,200,000 prompt tokens of which 1,000,000 cached, 50,000 output:
    #   200,000 × $0.95/M = $0.19 ; 1,000,000 × $0.16/M = $0.16 ; 50,000 × $4.00/M = $0.20 → $0.55
    usage = Usage(prompt_tokens=1_200_000, completion_tokens=50_000, total_tokens=1_250_000, cached_tokens=1_000_000)
    cost = cost_of("kimi", "kimi-k2.6", usage, prices=CAT)
    assert cost.known and cost.currency == "USD"
    assert cost.amount == pytest.approx(0.19 + 0.16 + 0.20)
    assert format_cost(cost) == "$0.5500"


def test_kimi_k25_small_call() -> None:
    # 1,000 prompt (200 cached), 300 output on kimi-k2.5:
    #   800 × 0.60 + 200 × 0.10 + 300 × 3.00 = 480 + 20 + 900 = 1,400 micro-dollars → $0.0014
    usage = Usage(1_000, 300, 1_300, cached_tokens=200)
    assert cost_of("kimi", "kimi-k2.5", usage, prices=CAT).amount == pytest.approx(0.0014)


def test_reasoning_tokens_are_output_tokens_not_added_twice() -> None:
    # o4-mini: 10,000 prompt, 5,000 completion of which 4,000 reasoning → 10,000 × 1.10 + 5,000 × 4.40
    #   = 11,000 + 22,000 = 33,000 micro-dollars = $0.033
    usage = Usage(10_000, 5_000, 15_000, reasoning_tokens=4_000)
    assert cost_of("openai", "o4-mini", usage, prices=CAT).amount == pytest.approx(0.033)


def test_anthropic_cache_reads_and_writes() -> None:
    # claude-sonnet-4-5: input 1,000 + cache read 20,000 + cache write 4,000 = 25,000 prompt; 2,000 output
    #   1,000 × 3.00 + 20,000 × 0.30 + 4,000 × 3.75 + 2,000 × 15.00
    #   = 3,000 + 6,000 + 15,000 + 30,000 = 54,000 micro-dollars = $0.054
    usage = Usage(25_000, 2_000, 27_000, cached_tokens=20_000, cache_write_tokens=4_000)
    assert cost_of("anthropic", "claude-sonnet-4-5", usage, prices=CAT).amount == pytest.approx(0.054)


def test_no_cache_price_means_cached_tokens_bill_at_input() -> None:
    # moonshot-v1-8k has one input price ($0.20): 10,000 prompt (4,000 cached) + 1,000 output × $2.00
    #   = 10,000 × 0.20 + 1,000 × 2.00 = 2,000 + 2,000 = $0.004
    usage = Usage(10_000, 1_000, 11_000, cached_tokens=4_000)
    assert cost_of("kimi", "moonshot-v1-8k", usage, prices=CAT).amount == pytest.approx(0.004)


def test_china_region_bills_in_cny() -> None:
    # api.moonshot.cn, kimi-k2.6: 1,000,000 uncached prompt × ¥6.50 + 1,000,000 output × ¥27.00 = ¥33.50
    usage = Usage(1_000_000, 1_000_000, 2_000_000)
    cost = cost_of("kimi", "kimi-k2.6", usage, base_url="https://api.moonshot.cn/v1", prices=CAT)
    assert (cost.amount, cost.currency) == (pytest.approx(33.50), "CNY")
    assert format_cost(cost) == "¥33.50"


def test_unknown_price_or_usage_is_unknown_never_zero() -> None:
    usage = Usage(100, 10, 110)
    unknown = cost_of("kimi", "moonshot-v1-auto", usage, prices=CAT)
    assert unknown == Cost() and not unknown.known and unknown.amount is None
    assert format_cost(unknown) == "—"
    no_usage = compute_cost(None, CAT.lookup("kimi", "kimi-k2.6"))
    assert not no_usage.known and no_usage.amount is None
    assert cost_of(None, "kimi-k2.6", usage).known is False


def test_cost_total_keeps_currencies_apart_and_counts_unpriced() -> None:
    total = CostTotal.of([Cost(0.5, "USD", True), Cost(0.25, "USD", True), Cost(), Cost(2.0, "CNY", True)])
    assert total.amounts == {"USD": 0.75, "CNY": 2.0} and total.unpriced == 1 and total.calls == 4
    assert total.format() == "¥2.00 + $0.7500 + 1 unpriced call"
    assert not total.known and total.single() == Cost()
    one = CostTotal.of([Cost(0.5, "USD", True), Cost(0.25, "USD", True)])
    assert one.single() == Cost(0.75, "USD", True)
    assert CostTotal.from_dict(one.to_dict()) == one


def test_cost_round_trips_and_completion_defaults_to_unknown() -> None:
    c = Cost(0.0123, "USD", True)
    assert Cost.from_dict(c.to_dict()) == c
    assert Cost.from_dict(None) == Cost() and Cost.from_dict({"amount": None, "known": True}) == Cost()
    done = Completion(text="hi", model="m")
    assert done.cost == Cost() and done.to_dict()["cost"] == {"amount": None, "currency": "USD", "known": False}


def test_stream_collector_prices_with_the_pricer() -> None:
    seen: list[tuple[str, Usage | None]] = []

    def pricer(model: str, usage: Usage | None) -> Cost:
        seen.append((model, usage))
        return Cost(1.0, "USD", True)

    col = StreamCollector("kimi-k2.6", "kimi", pricer)
    col.add(Chunk("hello"))
    col.add(Chunk(finish_reason="stop", usage=Usage(3, 1, 4)))
    done = col.result()
    assert done.cost == Cost(1.0, "USD", True)
    assert seen == [("kimi-k2.6", Usage(3, 1, 4))]
