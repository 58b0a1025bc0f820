"""Issue 14 acceptance, against the fake Moonshot server over real HTTP on 127.0.0.1.

200 items × 3 Kimi model IDs × repeat=3 = 1,800 calls. The server answers by fixed rules, so
every number below is worked out by hand from the rules:

- A kimi-k2-0905-preview: wrong on items i % 10 == 0 (20 items), always the same answer.
- B kimi-k2-turbo-preview: wrong on i % 5 == 0 (40 items); the server refuses (400) items
  7, 57, 107, 157 → 12 failed calls, which must be errors and not wrong answers.
- C kimi-k2-thinking: on i % 4 == 0 (50 items) only the first of its 3 calls is right.
"""

from __future__ import annotations

import pytest

from llm_magics import EvalResult, evaluate
from llm_magics.evaluation import stats
from llm_magics.history.store import default_history
from tests.evaluation.conftest import TEMPLATE, Rules, dataset, posts
from tests.fakeserver import FakeLLMServer

A, B, C = "kimi:kimi-k2-0905-preview", "kimi:kimi-k2-turbo-preview", "kimi:kimi-k2-thinking"
FAILING = {7, 57, 107, 157}


def test_200_items_3_models_repeat_3(kimi_fake: FakeLLMServer, fail_items) -> None:  # type: ignore[no-untyped-def]
    kimi_fake.responder = Rules({
        "kimi-k2-0905-preview": lambda i, n: i % 10 != 0,
        "kimi-k2-turbo-preview": lambda i, n: i % 5 != 0,
        "kimi-k2-thinking": lambda i, n: i % 4 != 0 or n == 0,
    })
    fail_items.append(lambda model, i: model == "kimi-k2-turbo-preview" and i in FAILING)
    kimi_fake.default_pacing = (0.005, 0.0)  # 5 ms to first token, so concurrent calls overlap on the server
    res = evaluate(dataset(200), TEMPLATE, targets=[A, "kimi-k2-turbo-preview", C], scorer="number", repeat=3)
    assert isinstance(res, EvalResult) and res.status == "done" and res.targets == [A, B, C]
    assert len(posts(kimi_fake)) == 1800  # every call sent exactly once; 400s are not retried
    assert kimi_fake.gate.max_active > 1  # calls ran concurrently (the scheduler learned the announced limit)
    a, b, c = res.summary

    assert (a["scored"], a["errors"], a["planned"]) == (600, 0, 600)
    assert a["score"] == pytest.approx(0.9) and a["ci_method"] == "wilson"
    assert (round(a["ci_low"], 4), round(a["ci_high"], 4)) == (0.8506, 0.9343)  # Wilson 180/200 (items are the unit)
    assert a["pass_at_k"] == pytest.approx(0.9) and a["maj_at_k"] == pytest.approx(0.9) and a["consistency"] == 1.0

    # Failed calls are errors, shown apart, never wrong answers: B is scored on 196 items.
    assert (b["scored"], b["errors"], b["scoring_errors"]) == (588, 12, 0)
    assert b["score"] == pytest.approx(156 / 196)
    assert (round(b["ci_low"], 4), round(b["ci_high"], 4)) == (0.7341, 0.8464)  # Wilson 156/196
    failed = [r for r in res.to_records() if r["target"] == B and r["status"] == "error"]
    assert sorted({r["item"] for r in failed}) == sorted(FAILING) and all(r["score"] is None for r in failed)
    assert all("simulated bad request" in r["error"] for r in failed)

    # Repeats that disagree: mean of item means, bootstrap CI, pass@3 vs maj@3 vs consistency.
    assert c["score"] == pytest.approx((150 + 50 / 3) / 200)
    assert c["ci_method"] == "bootstrap" and c["ci_low"] < c["score"] < c["ci_high"]
    assert c["pass_at_k"] == pytest.approx(1.0)  # each item has at least one right answer in 3
    assert c["maj_at_k"] == pytest.approx(150 / 200)  # two of three wrong on the 50 items
    assert c["consistency"] == pytest.approx((150 + 50 * 2 / 3) / 200)

    # Paired comparison on the items both answered.
    ab = res.compare("kimi-k2-0905-preview", "kimi-k2-turbo-preview")
    assert ab.test == "mcnemar-exact" and ab.n == 196 and (ab.a_only, ab.b_only) == (20, 0)
    assert ab.p_value == pytest.approx(2 * 0.5**20) and ab.diff == pytest.approx(20 / 196)
    assert ab.low <= ab.diff <= ab.high
    ac = res.compare(A, C)
    assert ac.test == "paired-bootstrap" and ac.n == 200 and ac.diff == pytest.approx(0.9 - (150 + 50 / 3) / 200)
    assert ac.low <= ac.diff <= ac.high and 0 < ac.p_value <= 1

    # Latency, tokens and cost are reported per target.
    for row in (a, b, c):
        assert row["latency_p50"] is not None and row["latency_p95"] >= row["latency_p50"]
        assert row["ttft_p50"] is not None and row["prompt_tokens"] > 0 and row["output_tokens"] > 0
    assert all(res.calls[(C, 0, r)].reasoning for r in range(3))  # the thinking model's reasoning is kept
    costs = [r["cost"] for r in res.to_records() if r["target"] == A]
    assert a["cost_known"] and a["cost"] == pytest.approx(sum(costs)) and a["cost"] > 0

    # Everything is in the history, call by call, and loads back with the same summary.
    rec = default_history().get(res.id)
    assert rec.kind == "eval" and rec.status == "done"
    loaded = rec.load()
    assert len(loaded.calls) == 1800 and loaded.summary == res.summary
    md = res.to_markdown()
    b_row = next(line for line in md.splitlines() if line.startswith(f"| {B} |")).split(" | ")
    assert "pass@3" in md and "maj@3" in md and b_row[2:4] == ["588/600", "12"]  # B's 12 errors, apart


def test_wilson_matches_stats_module() -> None:
    """The hand-rounded Wilson bounds above are the stats module's (kept honest here)."""
    assert stats.wilson_ci(180, 200) == pytest.approx((0.8505941875672826, 0.9343295513309041))
