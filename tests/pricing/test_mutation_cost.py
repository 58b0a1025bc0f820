"""Cost arithmetic and the session budget at their edges (found unpinned by `bash .ci/mutation.sh`).

Prices are per million tokens, so a cost is tokens × price / 1,000,000; each expected amount is
worked out in the comment next to it.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from llm_magics import config
from llm_magics.errors import BudgetExceededError
from llm_magics.pricing import budget
from llm_magics.pricing.catalog import Price
from llm_magics.pricing.cost import CostTotal, compute_cost, format_amount, pricer_for
from llm_magics.providers.base import Cost, Usage

ANTHROPIC_LIKE = Price("anthropic", "m", input=1.0, output=5.0, cached_input=0.1, cache_write=3.75)


# -- compute_cost --------------------------------------------------------------------------------
def test_no_cache_fields_bill_every_prompt_token_at_input() -> None:
    # 1,000 prompt × $1 + 200 output × $5 = 1,000 + 1,000 = 2,000 per million = $0.002; a model with
    # a cache-write price must not bill anything at it when the usage reports no cache writes
    cost = compute_cost(Usage(prompt_tokens=1000, completion_tokens=200), ANTHROPIC_LIKE)
    assert (cost.amount, cost.currency, cost.known) == (pytest.approx(0.002), "USD", True)


def test_cached_and_written_tokens_are_part_of_the_prompt() -> None:
    # prompt 1,000 = 600 uncached + 300 cached + 100 written:
    # 600 × 1 + 300 × 0.1 + 100 × 3.75 + 10 × 5 = 600 + 30 + 375 + 50 = 1,055 per million
    usage = Usage(prompt_tokens=1000, completion_tokens=10, cached_tokens=300, cache_write_tokens=100)
    assert compute_cost(usage, ANTHROPIC_LIKE).amount == pytest.approx(0.001055)


def test_more_cached_than_prompt_tokens_never_bills_a_negative_count() -> None:
    # a server reporting cached > prompt: the uncached count is 0, not negative; 20 × 0.1 = 2 per million
    usage = Usage(prompt_tokens=10, completion_tokens=0, cached_tokens=20)
    assert compute_cost(usage, ANTHROPIC_LIKE).amount == pytest.approx(0.000002)


def test_a_broken_user_price_file_makes_costs_unknown_not_a_failed_call(isolated_home: Path) -> None:
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "prices.yaml").write_text("kimi:\n  kimi-k2.5: 5\n")  # not a mapping of prices
    price = pricer_for("kimi")
    assert price("kimi-k2.5", Usage(prompt_tokens=1000, completion_tokens=10)) == Cost()
    assert budget.spent() == 0.0


# -- formatting and totals -------------------------------------------------------------------------
def test_format_amount_four_decimals_below_one_unit() -> None:
    assert format_amount(0.99, "USD") == "$0.9900"
    assert format_amount(1.0, "USD") == "$1.00"
    assert format_amount(1234.5, "EUR") == "€1,234.50"
    assert format_amount(0.5, "chf") == "0.5000 CHF"


def test_cost_total_known_single_and_format() -> None:
    empty = CostTotal()
    assert (empty.known, empty.single(), empty.format()) == (False, Cost(), "—")
    one = CostTotal().add(Cost(0.25, "USD", True)).add(Cost(0.5, "USD", True))  # add() chains
    assert (one.known, one.calls, one.single(), one.format()) == (True, 2, Cost(0.75, "USD", True), "$0.7500")
    single = CostTotal.of([Cost(0.1, "USD", True)])
    assert (single.known, single.single()) == (True, Cost(0.1, "USD", True))  # one priced call is enough
    partly = CostTotal.of([Cost(0.1, "USD", True), Cost()])
    assert (partly.known, partly.single(), partly.format()) == (False, Cost(), "$0.1000 + 1 unpriced call")
    assert CostTotal.of([Cost(), None]).format() == "—"
    two = CostTotal.of([Cost(0.1, "USD", True), Cost(2.0, "CNY", True)])
    assert (two.known, two.single(), two.format()) == (True, Cost(), "¥2.00 + $0.1000")


def test_a_stored_total_of_free_calls() -> None:
    # two priced calls that cost nothing were stored without amounts: known, and $0
    free = CostTotal.from_dict({"amounts": {}, "unpriced": 0, "calls": 2})
    assert (free.known, free.single(), free.format()) == (True, Cost(0.0, "USD", True), "$0.0000")


def test_cost_total_from_dict() -> None:
    assert CostTotal.from_dict(None) == CostTotal() and CostTotal.from_dict({}) == CostTotal()
    t = CostTotal.from_dict({"amounts": {"USD": "0.5"}, "unpriced": 3, "calls": 5})
    assert (t.amounts, t.unpriced, t.calls) == ({"USD": 0.5}, 3, 5)
    bare = CostTotal.from_dict({"amounts": {"USD": 0.5}})
    assert (bare.unpriced, bare.calls) == (0, 0)
    assert CostTotal.from_dict(t.to_dict()) == t


# -- the session budget ----------------------------------------------------------------------------
def _estimate(amounts: dict[str, float]) -> SimpleNamespace:
    return SimpleNamespace(min_total=CostTotal(amounts=amounts), calls=3, prompt_tokens=1200)


def test_record_and_spent_per_currency() -> None:
    budget.record(None)
    budget.record(Cost())  # unknown: not counted
    budget.record(Cost(0.5, "USD", True))
    budget.record(Cost(2.0, "CNY", True))
    budget.record(Cost(0.25, "USD", True))
    assert budget.spent("USD") == 0.75 and budget.spent("usd") == 0.75
    assert budget.spent("CNY") == 2.0 and budget.spent("EUR") == 0.0
    assert budget.spent() == 2.75  # every currency together


def test_remaining_and_status() -> None:
    assert budget.remaining() is None
    assert budget.status() == "no budget set · spent $0.0000"
    budget.record(Cost(0.5, "USD", True))
    budget.record(Cost(2.0, "CNY", True))
    assert budget.status() == "no budget set · spent ¥2.00, $0.5000"
    config.set_session(budget=2.5)
    assert budget.remaining("USD") == 2.0 and budget.remaining("CNY") == 0.5
    assert budget.status() == "budget ¥2.50 · spent ¥2.00 · left ¥0.5000; budget $2.50 · spent $0.5000 · left $2.00"


def test_check_estimate_refuses_only_what_cannot_fit() -> None:
    budget.check_estimate(_estimate({"USD": 100.0}))  # no budget: anything goes
    config.set_session(budget=2.0)
    budget.record(Cost(0.5, "USD", True))
    budget.check_estimate(_estimate({"USD": 1.5}))  # exactly what is left (2.0 − 0.5) fits
    with pytest.raises(BudgetExceededError) as exc:
        budget.check_estimate(_estimate({"USD": 1.6}))
    assert exc.value.message == (
        "Not started: this run's estimated minimum cost is $1.60 (3 calls, ~1,200 prompt tokens) but only "
        "$1.50 of the $2.00 budget is left. No request was sent.")


def test_check_running_stops_at_the_limit() -> None:
    budget.record(Cost(5.0, "USD", True))
    budget.check_running()  # no budget
    config.set_session(budget=6.0)
    budget.check_running()  # 5.0 of 6.0
    budget.record(Cost(1.0, "USD", True))
    with pytest.raises(BudgetExceededError, match=r"Budget used up: \$6.00 spent of \$6.00"):
        budget.check_running()  # exactly used up: the next call would go over
