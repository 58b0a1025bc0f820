"""The judge's calls are priced (Completion.cost from the price catalogue) and shown apart as the
"judge cost", and the eval's cost includes them — also a judge reply without a verdict, which was
paid for. Prices come from a user prices.yaml, token counts are fixed by the fake server, so every
amount below is worked out by hand."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from llm_magics import evaluate
from llm_magics.evaluation.judge import JUDGE_SYSTEM
from llm_magics.history.store import default_history
from llm_magics.pricing import budget
from llm_magics.pricing.catalog import user_prices_path
from tests.evaluation.conftest import TEMPLATE, dataset, posts
from tests.fakeserver import FakeLLMServer

A, B, JUDGE = "kimi:kimi-k2-0905-preview", "kimi:kimi-k2-turbo-preview", "kimi:kimi-k2.6"
# USD per million tokens: (input, output). Large, so the fake's small counts give whole cents.
PRICES = {"kimi-k2-0905-preview": (500.0, 2500.0), "kimi-k2-turbo-preview": (1000.0, 4000.0), "kimi-k2.6": (2000.0, 10000.0)}
# Tokens the fake reports: every target call 20 in / 4 out, every judge call 100 in / 10 out.
TARGET_USAGE, JUDGE_USAGE = (20, 4), (100, 10)


def _is_judge(req: dict[str, Any]) -> bool:
    return any(m.get("role") == "system" and m.get("content") == JUDGE_SYSTEM for m in req.get("messages", []))


@pytest.fixture
def priced(kimi_fake: FakeLLMServer) -> Iterator[FakeLLMServer]:
    user_prices_path().parent.mkdir(parents=True, exist_ok=True)
    user_prices_path().write_text("kimi:\n" + "".join(
        f"  {model}: {{input: {i}, output: {o}, currency: USD, date: 2026-11-26, source: test}}\n"
        for model, (i, o) in PRICES.items()), encoding="utf-8")

    def usage(req: dict[str, Any]) -> dict[str, int]:
        p, c = JUDGE_USAGE if _is_judge(req) else TARGET_USAGE
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    kimi_fake.usage_extra = usage
    budget.reset()
    yield kimi_fake
    budget.reset()


def test_judge_cost_is_priced_shown_apart_and_included_in_the_eval_cost(priced: FakeLLMServer) -> None:
    def responder(req: dict[str, Any]) -> str:
        return "VERDICT: PASS\nREASON: fine." if _is_judge(req) else "The answer is 1."

    priced.responder = responder
    res = evaluate(dataset(4), TEMPLATE, [A, B], scorer="judge", judge=JUDGE)
    a, b = res.summary
    # Target calls: A 4 × (20×500 + 4×2,500)/1e6 = 4 × 0.02; B 4 × (20×1,000 + 4×4,000)/1e6 = 4 × 0.036.
    assert a["cost"] == pytest.approx(0.08) and b["cost"] == pytest.approx(0.144)
    # Judge: (100×2,000 + 10×10,000)/1e6 = 0.30 per call, 4 calls grading each target.
    assert (a["judge_calls"], b["judge_calls"]) == (4, 4)
    assert a["judge_cost"] == pytest.approx(1.20) and b["judge_cost"] == pytest.approx(1.20)
    assert a["judge_cost_known"] and a["judge_currency"] == "USD"
    total = res.total_cost()
    assert total.known and total.currency == "USD" and total.amount == pytest.approx(0.08 + 0.144 + 2.40)
    assert budget.spent("USD") == pytest.approx(2.624)  # the session budget saw the judge's calls too
    md = res.to_markdown()
    assert "| judge cost |" in md and "$1.20" in md
    assert "Judge `kimi:kimi-k2.6`: 8 calls, 800 prompt / 80 output tokens, judge cost $2.40" in md
    assert "eval cost $2.62 (targets $0.2240 + judge $2.40)" in md
    assert res.to_records()[0]["judge_cost"] == pytest.approx(0.30)
    # Stored with each call: the run read back from the history has the same judge cost.
    back = default_history().get(res.id).load()
    assert back.summary[0]["judge_cost"] == pytest.approx(1.20) and back.total_cost().amount == pytest.approx(2.624)


def test_a_judge_reply_without_a_verdict_is_still_paid_for(priced: FakeLLMServer) -> None:
    replies = {"judge": 0}
    lock = threading.Lock()

    def responder(req: dict[str, Any]) -> str:
        if not _is_judge(req):
            return "The answer is 1."
        with lock:
            replies["judge"] += 1
            first = replies["judge"] == 1
        return "no idea" if first else "VERDICT: PASS\nREASON: fine."

    priced.responder = responder
    res = evaluate(dataset(2), TEMPLATE, [A], scorer="judge", judge=JUDGE, concurrency=1)
    row = res.summary[0]
    assert (row["scored"], row["scoring_errors"]) == (1, 1)
    assert row["judge_calls"] == 2 and row["judge_cost"] == pytest.approx(0.60)  # the verdict-less call counts
    res.resume()  # re-scores the scoring error: one more judge call, the target is not asked again
    assert [r.json["model"] for r in posts(priced)].count("kimi-k2-0905-preview") == 2
    row = res.summary[0]
    assert (row["scored"], row["scoring_errors"], row["judge_calls"]) == (2, 0, 3)
    assert row["judge_cost"] == pytest.approx(0.90)
    # 2 target calls × 0.02 + 3 judge calls × 0.30
    assert res.total_cost().amount == pytest.approx(0.94) and budget.spent("USD") == pytest.approx(0.94)
