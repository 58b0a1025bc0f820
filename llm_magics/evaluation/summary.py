"""Per-target statistics of an eval, and the paired comparison of two targets.

Units of analysis (stated once, used everywhere):

- With ``repeat == 1`` each call is one observation: the mean score's interval is Wilson when
  every score is pass/fail, else a seeded bootstrap.
- With ``repeat > 1`` the repeats of one item are not independent, so the **item** is the unit:
  each item's score is the mean of its scored repeats, and the interval is over items (Wilson if
  those are all 0/1, else the bootstrap). pass@k and maj@k (k = repeat) are averaged over items
  with k scored repeats (pass@k) or at least one (maj@k). A "pass" is a score of 1.0 (a graded
  scorer's perfect score). Consistency is the mean share of an item's repeats giving its most
  frequent answer.
- Failed calls are **errors**, counted apart and never scored; so are scoring errors.
- Latency/TTFT percentiles are over successful calls; tokens and cost are sums over all calls
  that reported usage (a failed call usually reports none).
- The judge's calls (``--scorer judge``) are priced apart: ``judge_cost`` is what grading this
  target's answers cost, never mixed into ``cost`` (what the target's own calls cost).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from llm_magics.evaluation import stats
from llm_magics.evaluation.records import CallResult

__all__ = ["target_summary", "item_scores", "compare_calls", "SUMMARY_COLUMNS"]

#: Keys of one summary row, in display order.
SUMMARY_COLUMNS = (
    "target", "planned", "done", "scored", "errors", "scoring_errors", "score", "ci_low", "ci_high", "ci_method",
    "pass_at_k", "maj_at_k", "consistency", "k", "ttft_p50", "ttft_p95", "latency_p50", "latency_p95",
    "prompt_tokens", "cached_tokens", "output_tokens", "reasoning_tokens", "cost", "currency", "cost_known",
    "judge_calls", "judge_cost", "judge_currency", "judge_cost_known",
)


def item_scores(calls: Iterable[CallResult]) -> dict[int, list[CallResult]]:
    """Scored calls grouped by item, each group in repeat order."""
    out: dict[int, list[CallResult]] = {}
    for c in sorted(calls, key=lambda c: (c.item, c.repeat)):
        if c.scored:
            out.setdefault(c.item, []).append(c)
    return out


def _normal_ci(values: Sequence[float]) -> stats.Interval:
    """mean ± 1.96·s/√n: the cheap interval the live table uses instead of the bootstrap."""
    m = stats.mean(values)
    if len(values) < 2:
        return stats.Interval(m, m, m, "exact")
    var = math.fsum((v - m) ** 2 for v in values) / (len(values) - 1)
    half = stats.Z95 * math.sqrt(var / len(values))
    return stats.Interval(m, m - half, m + half, "normal")


def _interval(values: Sequence[float], *, seed: int, fast: bool) -> stats.Interval:
    if fast and not stats.is_binary(values):
        return _normal_ci(values)
    return stats.mean_ci(values, seed=seed)


def target_summary(
    target: str, calls: Sequence[CallResult], *, planned: int, repeat: int, seed: int = 0, fast: bool = False
) -> dict[str, Any]:
    """One row of `EvalResult.summary`. `fast=True` (the live table) skips the bootstrap."""
    row: dict[str, Any] = dict.fromkeys(SUMMARY_COLUMNS)
    row.update(target=target, planned=planned, done=len(calls), k=repeat)
    row["errors"] = sum(1 for c in calls if c.error is not None)
    row["scoring_errors"] = sum(1 for c in calls if c.error is None and c.scoring_error is not None)
    by_item = item_scores(calls)
    row["scored"] = sum(len(v) for v in by_item.values())
    if by_item:
        if repeat == 1:
            values = [c.score for group in by_item.values() for c in group if c.score is not None]
        else:
            values = [stats.mean([c.score for c in g if c.score is not None]) for g in by_item.values()]
        iv = _interval(values, seed=seed, fast=fast)
        row.update(score=iv.value, ci_low=iv.low, ci_high=iv.high, ci_method=iv.method)
        if repeat > 1:
            full = [g for g in by_item.values() if len(g) >= repeat]
            if full:
                row["pass_at_k"] = stats.mean(
                    [stats.pass_at_k(len(g), sum(1 for c in g if c.score == 1.0), repeat) for g in full]
                )
            row["maj_at_k"] = stats.mean(
                [stats.majority_vote([c.key or "" for c in g], [c.score or 0.0 for c in g]) for g in by_item.values()]
            )
            multi = [g for g in by_item.values() if len(g) > 1]
            if multi:
                row["consistency"] = stats.mean([stats.consistency([c.key or "" for c in g]) for g in multi])
    ok = [c for c in calls if c.error is None]
    for name, attr in (("ttft", "ttft_s"), ("latency", "latency_s")):
        vals = [float(getattr(c, attr)) for c in ok if getattr(c, attr) is not None]
        if vals:
            row[f"{name}_p50"] = stats.percentile(vals, 50)
            row[f"{name}_p95"] = stats.percentile(vals, 95)
    with_usage = [c.usage for c in calls if c.usage is not None]
    if with_usage:
        row["prompt_tokens"] = sum(u.prompt_tokens for u in with_usage)
        row["output_tokens"] = sum(u.completion_tokens for u in with_usage)
        cached = [u.cached_tokens for u in with_usage if u.cached_tokens is not None]
        reasoning = [u.reasoning_tokens for u in with_usage if u.reasoning_tokens is not None]
        row["cached_tokens"] = sum(cached) if cached else None
        row["reasoning_tokens"] = sum(reasoning) if reasoning else None
    priced = [c for c in calls if c.cost is not None]
    currencies = {c.currency for c in priced}
    billable = [c for c in calls if c.usage is not None]
    row["cost_known"] = bool(billable) and len(priced) >= len(billable) and len(currencies) == 1
    if priced and len(currencies) == 1:
        row["cost"] = math.fsum(c.cost for c in priced if c.cost is not None)
        row["currency"] = next(iter(currencies))
    judged = [c for c in calls if c.judge_calls]
    if judged:
        row["judge_calls"] = sum(c.judge_calls for c in judged)
        judge_currencies = {c.judge_currency for c in judged if c.judge_cost is not None}
        row["judge_cost_known"] = all(c.judge_cost is not None for c in judged) and len(judge_currencies) == 1
        if len(judge_currencies) == 1:
            row["judge_cost"] = math.fsum(c.judge_cost for c in judged if c.judge_cost is not None)
            row["judge_currency"] = next(iter(judge_currencies))
    return row


def compare_calls(a: Sequence[CallResult], b: Sequence[CallResult], *, seed: int = 0) -> tuple[stats.Paired, list[int]]:
    """The paired test on the items both targets answered (item score = mean of its scored repeats)."""
    ia, ib = item_scores(a), item_scores(b)
    common = sorted(set(ia) & set(ib))
    if not common:
        raise ValueError("no item was scored for both targets")

    def score(group: list[CallResult]) -> float:
        return stats.mean([c.score for c in group if c.score is not None])

    return stats.paired_compare([score(ia[i]) for i in common], [score(ib[i]) for i in common], seed=seed), common
