"""Interrupt mid-run, then resume: no call answered before is sent again (the server's request log),
and the totals equal those of an uninterrupted run. Also: the blocking API re-raises Ctrl-C."""

from __future__ import annotations

import _thread
import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from llm_magics import evaluate
from llm_magics.evaluation import EvalResult, aevaluate
from llm_magics.evaluation.api import aresume_eval
from llm_magics.events import Event, Progress, RunStarted
from llm_magics.history import load_run
from llm_magics.history.store import History
from llm_magics.providers.offline import OfflineProvider
from tests.evaluation.conftest import TEMPLATE, Rules, dataset, last_user, parse_item, posts
from tests.fakeserver import FakeLLMServer

TARGETS = ["kimi:kimi-k2-0905-preview", "kimi:kimi-k2-turbo-preview"]
RULES = {"kimi-k2-0905-preview": lambda i, n: i % 3 != 0, "kimi-k2-turbo-preview": lambda i, n: i % 4 != 0}
ITEMS, REPEAT = 40, 2  # 160 calls


def _key(req: Any) -> tuple[str, int]:
    parsed = parse_item(req.json)
    assert parsed is not None, last_user(req.json)
    return str(req.json["model"]), parsed[0]


class _StopAfter:
    """Cancels the run's task once `n` calls have been recorded (what Ctrl-C does on the loop)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.task: asyncio.Task[Any] | None = None
        self.run: EvalResult | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run = event.run
        if isinstance(event, Progress) and event.done >= self.n and self.task is not None:
            self.task.cancel()


def test_interrupt_then_resume_sends_only_missing_calls(kimi_fake: FakeLLMServer, tmp_path: Path) -> None:
    kimi_fake.responder = Rules(RULES)
    kimi_fake.default_pacing = (0.0, 0.002)  # a few ms per answer, so calls are in flight when we cancel
    stop = _StopAfter(57)

    async def first() -> None:
        stop.task = asyncio.current_task()
        await aevaluate(dataset(ITEMS), TEMPLATE, TARGETS, scorer="number", repeat=REPEAT, on_event=stop)

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(first())
    partial = stop.run
    assert partial is not None and partial.status == "interrupted"
    kept = dict(partial.calls)
    assert 57 <= len(kept) < ITEMS * REPEAT * 2
    # Everything finished is in the history, call by call.
    stored = load_run(partial.id)
    assert stored.status == "interrupted" and set(stored.calls) == set(kept)
    phase1 = len(posts(kimi_fake))
    assert phase1 >= len(kept)  # the difference: requests cancelled in flight (no answer kept)

    kimi_fake.requests.clear()
    resumed = asyncio.run(aresume_eval(partial.id))
    assert resumed.status == "done" and len(resumed.calls) == ITEMS * REPEAT * 2
    sent = Counter(_key(r) for r in posts(kimi_fake))
    answered = Counter((c.target.split(":", 1)[1], c.item) for c in kept.values())
    # Each (model, item) is asked exactly as often as it still lacked answers: nothing twice.
    for model in ("kimi-k2-0905-preview", "kimi-k2-turbo-preview"):
        for i in range(ITEMS):
            assert sent[(model, i)] == REPEAT - answered[(model, i)], (model, i)
    assert sum(sent.values()) == ITEMS * REPEAT * 2 - len(kept)
    for key, call in kept.items():  # stored answers and scores are reused untouched
        assert resumed.calls[key].output == call.output and resumed.calls[key].at == call.at

    # Same totals as one uninterrupted run (a separate history, so nothing is shared).
    kimi_fake.requests.clear()
    kimi_fake.responder = Rules(RULES)
    whole = evaluate(dataset(ITEMS), TEMPLATE, TARGETS, scorer="number", repeat=REPEAT, history=History(tmp_path / "other.db"))
    assert len(posts(kimi_fake)) == ITEMS * REPEAT * 2
    strip = ("latency_p50", "latency_p95", "ttft_p50", "ttft_p95")
    for x, y in zip(resumed.summary, whole.summary):
        assert {k: v for k, v in x.items() if k not in strip} == {k: v for k, v in y.items() if k not in strip}


def test_resume_retries_failed_calls_and_rescores_without_resending(kimi_fake: FakeLLMServer, fail_items) -> None:  # type: ignore[no-untyped-def]
    kimi_fake.responder = Rules(RULES)
    fail_items.append(lambda model, i: i == 2)
    boom = {"on": True}

    def scorer(output: str, row: dict[str, Any]) -> bool:
        if boom["on"] and row["id"] == 5:
            raise ValueError("cannot read this one")
        return str(row["answer"]) in output

    res = evaluate(dataset(8), TEMPLATE, TARGETS, scorer=scorer)
    rows = {r["target"]: r for r in res.summary}
    assert all(r["errors"] == 1 and r["scoring_errors"] == 1 and r["scored"] == 6 for r in rows.values())
    bad = res.calls[(TARGETS[0], 5, 0)]
    assert bad.scoring_error == "ValueError: cannot read this one" and bad.output  # the answer is kept
    kimi_fake.requests.clear()
    fail_items.clear()  # the server works again, and so does the scorer
    boom["on"] = False
    res.resume()
    sent = Counter(_key(r) for r in posts(kimi_fake))
    assert sent == Counter({("kimi-k2-0905-preview", 2): 1, ("kimi-k2-turbo-preview", 2): 1})  # only the failed calls
    assert all(r["errors"] == 0 and r["scoring_errors"] == 0 and r["scored"] == 8 for r in res.summary)


def test_blocking_evaluate_reraises_ctrl_c_and_keeps_the_partial() -> None:
    seen: dict[str, Any] = {}

    def sink(event: Event) -> None:
        if isinstance(event, RunStarted):
            seen["run"] = event.run
        if isinstance(event, Progress) and event.done == 5 and "fired" not in seen:
            seen["fired"] = True
            _thread.interrupt_main()

    with pytest.raises(KeyboardInterrupt):
        evaluate("arithmetic", "{{ question }}", [(OfflineProvider(chunk_delay=0.05), "kimi-k2.6")], scorer="number",
                 on_event=sink, concurrency=1)
    run = seen["run"]
    assert run.status == "interrupted" and 5 <= len(run.calls) < 45
    assert load_run(run.id).status == "interrupted" and len(load_run(run.id).calls) == len(run.calls)
