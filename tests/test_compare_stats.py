"""%%compare's numbers: medians and spreads, tokens/s, cell and summary text, ranking.

Every expected value is worked out by hand in the test (sample standard deviation, medians of odd
and even counts, the formatting rules: '4 ms', '0.31 s', '2.4 s', '31 s', '9.5 tok/s', '171 tok/s').
"""

from __future__ import annotations

import math

import pytest

from llm_magics.comparison.stats import (
    Attempt,
    Stat,
    canonical_metric,
    fmt_metric,
    ranked,
    summarize,
    summary_line,
)
from llm_magics.errors import ConfigurationError
from llm_magics.providers.base import Cost, Usage


# -- summarize: median, min, max, sample stdev, n ------------------------------------------------
def test_summarize_odd_count_skips_missing_values() -> None:
    # [1, 2, 3]: mean 2, squared deviations 1 + 0 + 1 = 2, sample variance 2 / (3 - 1) = 1
    assert summarize([3, None, 1, 2]) == Stat(median=2.0, min=1.0, max=3.0, stdev=1.0, n=3)


def test_summarize_even_count_median_is_the_mean_of_the_middle_two() -> None:
    # [1, 2, 3, 4]: median (2 + 3) / 2 = 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5,
    # sample variance 5 / 3, stdev sqrt(5 / 3) = 1.2910
    s = summarize([4.0, 1.0, 3.0, 2.0])
    assert s is not None
    assert (s.median, s.min, s.max, s.n) == (2.5, 1.0, 4.0, 4)
    assert s.stdev == pytest.approx(math.sqrt(5 / 3))


def test_summarize_two_values() -> None:
    # [1, 3]: median 2, squared deviations 1 + 1 = 2, sample variance 2 / (2 - 1) = 2, stdev sqrt(2)
    s = summarize([3, 1])
    assert s is not None and (s.median, s.min, s.max, s.n) == (2.0, 1.0, 3.0, 2)
    assert s.stdev == pytest.approx(math.sqrt(2))


def test_summarize_one_value_has_no_stdev_and_nothing_is_none() -> None:
    assert summarize([0.5]) == Stat(0.5, 0.5, 0.5, None, 1)
    assert summarize([]) is None
    assert summarize([None, None]) is None
    assert Stat(2.0, 1.0, 3.0, 1.0, 3).to_dict() == {"median": 2.0, "min": 1.0, "max": 3.0, "stdev": 1.0, "n": 3}


# -- Attempt ---------------------------------------------------------------------------------------
def test_tokens_per_second_counts_only_the_generation_time() -> None:
    # 100 tokens, first at 0.5 s, last at 2.5 s: 100 / (2.5 - 0.5) = 50 tok/s
    assert Attempt(ttft_s=0.5, latency_s=2.5, output_tokens=100).tokens_per_s == 50.0
    assert Attempt(ttft_s=0.0, latency_s=0.25, output_tokens=10).tokens_per_s == 40.0
    assert Attempt(ttft_s=1.0, latency_s=1.0, output_tokens=10).tokens_per_s is None  # no time to divide by
    assert Attempt(ttft_s=1.0, latency_s=0.9, output_tokens=10).tokens_per_s is None
    assert Attempt(ttft_s=None, latency_s=2.5, output_tokens=100).tokens_per_s is None
    assert Attempt(ttft_s=0.5, latency_s=None, output_tokens=100).tokens_per_s is None
    assert Attempt(ttft_s=0.5, latency_s=2.5, output_tokens=None).tokens_per_s is None
    assert Attempt(ttft_s=0.5, latency_s=2.5, output_tokens=100, error="boom").tokens_per_s is None


def test_ok_and_cost_amount() -> None:
    assert Attempt().ok and not Attempt(error="x").ok
    assert Attempt(cost=Cost(0.0042, "USD", True)).cost_amount == 0.0042
    assert Attempt(cost=Cost(None, "USD", False)).cost_amount is None
    assert Attempt().cost_amount is None


def test_to_dict_keeps_the_derived_speed_and_nested_usage_and_cost() -> None:
    a = Attempt(text="hi", ttft_s=0.5, latency_s=2.5, output_tokens=100,
                usage=Usage(prompt_tokens=7, completion_tokens=100, total_tokens=107),
                cost=Cost(0.25, "USD", True))
    d = a.to_dict()
    assert d["tokens_per_s"] == 50.0
    assert d["usage"] == {"prompt_tokens": 7, "completion_tokens": 100, "total_tokens": 107}
    assert d["cost"] == {"amount": 0.25, "currency": "USD", "known": True}
    assert (d["text"], d["ttft_s"], d["latency_s"], d["output_tokens"], d["error"]) == ("hi", 0.5, 2.5, 100, None)
    bare = Attempt().to_dict()
    assert (bare["usage"], bare["cost"], bare["tokens_per_s"]) == (None, None, None)


def test_from_dict_reads_a_stored_attempt_and_ignores_unknown_and_derived_keys() -> None:
    stored = {"text": "hi", "ttft_s": 0.5, "latency_s": 2.5, "output_tokens": 100, "tokens_per_s": 50.0,
              "added_in_a_later_version": 1, "usage": {"prompt_tokens": 7, "completion_tokens": 100},
              "cost": {"amount": 0.25, "currency": "EUR", "known": True}}
    a = Attempt.from_dict(stored)
    assert (a.text, a.ttft_s, a.latency_s, a.output_tokens) == ("hi", 0.5, 2.5, 100)
    assert a.usage is not None and (a.usage.prompt_tokens, a.usage.completion_tokens) == (7, 100)
    assert a.cost is not None and (a.cost.amount, a.cost.currency, a.cost.known) == (0.25, "EUR", True)
    old = Attempt.from_dict({"text": "x"})  # written before usage and cost were stored
    assert (old.usage, old.cost) == (None, None)


# -- formatting ----------------------------------------------------------------------------------
def test_fmt_metric_median_and_min_max_spread() -> None:
    assert fmt_metric("ttft", Stat(0.31, 0.29, 0.35, 0.03, 3)) == "0.31 s (0.29–0.35 s)"  # as in notebook 04's table
    assert fmt_metric("ttft", Stat(0.31, 0.29, 0.35, 0.03, 3), unit=False) == "0.31 (0.29–0.35)"
    assert fmt_metric("ttft", Stat(0.32, 0.29, 0.35, 0.04, 2)) == "0.32 s (0.29–0.35 s)"  # two runs have a spread
    # min and max in different units keep theirs
    assert fmt_metric("latency", Stat(0.31, 0.05, 2.43, None, 3)) == "0.31 s (50 ms–2.4 s)"
    assert fmt_metric("output_tokens", Stat(412.0, 400.0, 420.0, None, 3)) == "412 tok (400–420 tok)"
    assert fmt_metric("output_tokens", Stat(412.0, 400.0, 420.0, None, 3), unit=False) == "412 (400–420)"
    assert fmt_metric("tokens_per_s", Stat(171.0, 9.5, 180.0, None, 3)) == "171 tok/s (9.5–180 tok/s)"
    assert fmt_metric("tokens_per_s", Stat(171.0, 9.5, 180.0, None, 3), unit=False) == "171 (9.5–180)"
    assert fmt_metric("reasoning_tokens", Stat(20.0, 20.0, 20.0, None, 1)) == "20 tok"
    assert fmt_metric("cost", Stat(0.002, 0.001, 0.003, None, 3)) == "0.0020 (0.0010–0.0030)"
    assert fmt_metric("cost", Stat(0.002, 0.001, 0.003, None, 3), unit=False) == "0.0020 (0.0010–0.0030)"


def test_fmt_metric_without_a_visible_spread() -> None:
    assert fmt_metric("ttft", Stat(0.31, 0.31, 0.31, None, 1)) == "0.31 s"
    assert fmt_metric("ttft", Stat(0.31, 0.29, 0.35, None, 1)) == "0.31 s"  # one run: no spread
    assert fmt_metric("ttft", Stat(0.312, 0.311, 0.314, 0.001, 2)) == "0.31 s"  # min and max print alike
    assert fmt_metric("latency", Stat(2.43, 2.43, 2.43, 0.0, 2), unit=False) == "2.4"
    assert fmt_metric("ttft", None) == "—"


def test_summary_line() -> None:
    stats = {"ttft": Stat(0.31, 0.29, 0.35, None, 3), "latency": Stat(2.43, 2.0, 3.0, None, 3),
             "output_tokens": Stat(412.0, 400.0, 420.0, None, 3), "tokens_per_s": Stat(171.0, 160.0, 180.0, None, 3)}
    assert summary_line(stats, 3, 3) == "TTFT 0.31 s · 2.4 s · 412 output tok · 171 tok/s · median of 3"
    assert summary_line(stats, 2, 3) == "TTFT 0.31 s · 2.4 s · 412 output tok · 171 tok/s · median of 2 (1 failed)"
    one = {"ttft": Stat(0.0042, 0.0042, 0.0042, None, 1), "latency": Stat(31.2, 31.2, 31.2, None, 1),
           "output_tokens": None, "tokens_per_s": None}
    assert summary_line(one, 1, 1) == "TTFT 4 ms · 31 s"
    assert summary_line({"latency": Stat(2.43, 2.43, 2.43, None, 1)}, 1, 1) == "2.4 s"
    assert summary_line({}, 0, 2) == "median of 0 (2 failed)"


def test_ranked_best_first_missing_last_ties_in_order() -> None:
    assert ranked([3.0, None, 1.0, 2.0, 1.0], higher_is_better=False) == [2, 4, 3, 0, 1]
    assert ranked([3.0, None, 1.0, 2.0, 3.0], higher_is_better=True) == [0, 4, 3, 2, 1]
    assert ranked([None, None], higher_is_better=True) == [0, 1]


# -- metric names --------------------------------------------------------------------------------
def test_canonical_metric_names_and_aliases() -> None:
    assert canonical_metric("tok/s") == "tokens_per_s"
    assert canonical_metric(" Time-To-First-Token ") == "ttft"
    assert canonical_metric("total s") == "latency"
    assert canonical_metric("Latency") == "latency"
    assert canonical_metric("price") == "cost"


def test_unknown_metric_names_the_closest_or_lists_them_all() -> None:
    with pytest.raises(ConfigurationError, match="Unknown metric 'latencyy'") as exc:
        canonical_metric("latencyy")
    assert exc.value.hint is not None and exc.value.hint.startswith("Did you mean 'latency'")
    with pytest.raises(ConfigurationError) as exc:
        canonical_metric("zzz")
    assert exc.value.hint == "Metrics: ttft, latency, tokens_per_s, output_tokens, reasoning_tokens, cost."


def test_which_direction_is_better_and_units() -> None:
    from llm_magics.comparison.stats import METRICS

    # only speed is better higher; times, token counts (cheaper) and cost are better lower
    assert {name: (attr, higher, unit) for name, (attr, higher, unit) in METRICS.items()} == {
        "ttft": ("ttft_s", False, "s"),
        "latency": ("latency_s", False, "s"),
        "tokens_per_s": ("tokens_per_s", True, "tok/s"),
        "output_tokens": ("output_tokens", False, "tok"),
        "reasoning_tokens": ("reasoning_tokens", False, "tok"),
        "cost": ("cost_amount", False, ""),
    }
    assert Attempt().tokens_estimated is False  # counted by the server unless said otherwise
