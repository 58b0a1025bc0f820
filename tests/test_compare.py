"""compare/acompare and Comparison: real HTTP to the fake server for speed ordering and errors, offline for the rest.

Speeds differ by 3-10× in pacing so the ORDER is stable on a loaded CI machine; no wall-clock time
is asserted.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest

from llm_magics import compare
from llm_magics.comparison.api import Comparison, acompare, parse_target
from llm_magics.errors import ConfigurationError
from llm_magics.events import Event, PaneClosed, PaneOpened, Progress, RunFinished, RunStarted, TextDelta
from llm_magics.history.store import default_history
from llm_magics.keys.resolve import get_provider
from llm_magics.providers.offline import OfflineProvider
from tests.fakeserver import FakeLLMServer

KEY = "sk-test-compare-0000000000secretvalue"
WORDS = " ".join(f"w{i}" for i in range(20))

# (ttft_s, chunk_delay_s): TTFT order is A < B < C, tokens/s order is B > C > A.
PACING = {
    "kimi-k2-0905-preview": (0.01, 0.03),  # A: first token at once, then slow (~33 tok/s)
    "kimi-k2-turbo-preview": (0.35, 0.002),  # B: waits, then very fast (~500 tok/s)
    "kimi-k2-thinking": (0.8, 0.01),  # C: waits longest, medium speed (~100 tok/s), reasoning first
}


@pytest.fixture
def kimi_fake(fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> FakeLLMServer:
    """Kimi is the default provider and points at the fake server."""
    monkeypatch.setenv("KIMI_API_KEY", KEY)
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    fake_server.responder = lambda req: WORDS
    fake_server.pacing.update(PACING)
    return fake_server


def test_orders_targets_by_ttft_and_tokens_per_s(kimi_fake: FakeLLMServer) -> None:
    comp = compare("Say twenty words", ["kimi:kimi-k2-0905-preview", "kimi-k2-turbo-preview", "kimi:kimi-k2-thinking"])
    assert [r.status for r in comp.rows] == ["done"] * 3
    a, b, c = comp.rows
    assert (a.provider, a.model) == ("kimi", "kimi-k2-0905-preview") and b.provider == "kimi"
    assert [r.model for r in comp.sorted_by("ttft").rows] == ["kimi-k2-0905-preview", "kimi-k2-turbo-preview", "kimi-k2-thinking"]
    assert [r.model for r in comp.sorted_by("tokens_per_s").rows] == ["kimi-k2-turbo-preview", "kimi-k2-thinking", "kimi-k2-0905-preview"]
    assert comp.best("ttft") is a and comp.best("tok/s") is b and comp.best("latency") is b
    # The displayed table of a sorted view lists targets in that order; ★ marks the best per metric.
    lines = comp.sorted_by("tokens_per_s").table().splitlines()[2:]
    assert [ln.split()[0] for ln in lines] == ["kimi-k2-turbo-preview", "kimi:kimi-k2-thinking", "kimi:kimi-k2-0905-preview"]
    assert lines[0].count("★") == 2 and lines[2].count("★") == 1  # B: latency + tok/s; A: TTFT
    # Metrics come from the server's usage; reasoning is separate for the thinking model.
    assert a.output_tokens == 20 and a.finish_reason == "stop" and a.text == WORDS
    assert c.reasoning.startswith("Let me think") and c.output_tokens and c.output_tokens > 20
    # All three ran at once: every request started before the first one ended.
    posts = [r for r in kimi_fake.requests if r.method == "POST"]
    assert len(posts) == 3 and max(r.started_at for r in posts) < min(r.ended_at for r in posts)
    assert all(r.json["stream"] is True for r in posts)


def test_bad_model_id_fails_alone_with_suggestions(kimi_fake: FakeLLMServer) -> None:
    kimi_fake.pacing.clear()
    comp = compare("Hello there", ["kimi-k2-turbo", "kimi-k2-turbo-preview", "kimi:kimi-k2-0905-preview"], repeat=2)
    bad, good1, good2 = comp.rows
    assert bad.status == "error" and not bad.ok
    assert "kimi-k2-turbo-preview" in bad.suggestions and "kimi-k2-turbo" in (bad.error or "")
    assert len(bad.attempts) == 1  # an unknown model is not retried by --repeat
    assert good1.ok and good2.ok and len(good1.attempts) == 2 and good1.stat("ttft").n == 2  # type: ignore[union-attr]
    assert comp.status == "done"
    table = comp.table()
    assert "Did you mean: kimi-k2-turbo-preview" in table
    assert comp.best("ttft") in (good1, good2)
    assert [r.model for r in comp.sorted_by("ttft").rows][-1] == "kimi-k2-turbo"  # error rows last


def test_repeats_run_sequentially_per_target_and_give_median_and_spread(kimi_fake: FakeLLMServer) -> None:
    kimi_fake.pacing.clear()
    kimi_fake.default_pacing = (0.0, 0.001)
    comp = compare("Count", ["kimi-k2-turbo-preview", "kimi-latest"], repeat=3)
    for row in comp.rows:
        assert len(row.successful) == 3
        s = row.stat("latency")
        assert s is not None and s.n == 3 and s.min <= s.median <= s.max and s.stdev is not None
        mine = sorted((r for r in kimi_fake.requests if r.json and r.json.get("model") == row.model),
                      key=lambda r: r.started_at)
        assert len(mine) == 3
        assert all(x.ended_at <= y.started_at for x, y in zip(mine, mine[1:]))
    assert "median of 3" in comp.rows[0].summary() and "median of 3 runs" in str(comp)


def test_wrong_key_fails_one_target_without_repeating(fake_server: FakeLLMServer) -> None:
    fake_server.valid_keys = {KEY}
    good = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url)
    bad = get_provider("kimi", api_key="sk-wrong-SECRETMIDDLE-0000zzzz", base_url=fake_server.base_url)
    comp = compare("Hi", [(good, "kimi-k2-0905-preview"), (bad, "kimi-k2-0905-preview")], repeat=2)
    ok, failed = comp.rows
    assert ok.ok and len(ok.attempts) == 2
    assert failed.attempts[0].error_type == "AuthenticationError" and len(failed.attempts) == 1
    db = default_history().path
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # the DB and its WAL
    assert b"compare" in stored and b"SECRETMIDDLE" not in stored and b"secretvalue" not in stored
    assert "SECRETMIDDLE" not in comp.to_json() + str(comp) + comp.to_markdown()


def test_events_stream_each_target_into_its_pane() -> None:
    events: list[Event] = []
    comp = compare("Plan a launch", ["kimi-k2-turbo-preview", "offline:kimi-k2-thinking", "kimi-k2-turbo-previw"], on_event=events.append)
    assert isinstance(events[0], RunStarted) and events[0].run is comp
    assert events[0].kind == "compare" and events[0].layout == "grid"
    opened = [e for e in events if isinstance(e, PaneOpened)]
    assert [(e.title, e.subtitle) for e in opened] == [
        ("kimi-k2-turbo-preview", "offline"), ("offline:kimi-k2-thinking", "offline"), ("kimi-k2-turbo-previw", "offline")]
    for pane, row in zip((e.pane for e in opened), comp.rows):
        deltas = [e for e in events if isinstance(e, TextDelta) and e.pane == pane]
        assert "".join(d.text for d in deltas) == row.text
        assert "".join(d.reasoning for d in deltas) == row.reasoning
        closed = [e for e in events if isinstance(e, PaneClosed) and e.pane == pane]
        assert len(closed) == 1
        if row.ok:
            assert closed[0].status == "done"
            assert re.fullmatch(r"TTFT [\d.]+ m?s · [\d.]+ m?s · \d+ output tok · [\d.]+ tok/s · \$0\.0000",
                                closed[0].summary)  # offline: priced, and free
        else:
            assert closed[0].status == "error" and "Did you mean" in (closed[0].error or "")
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[-1].done == progress[-1].total == 3
    assert isinstance(events[-1], RunFinished) and events[-1].markdown == comp.to_markdown()
    # No key: the default is offline, and the run says so once.
    assert sum(1 for e in events if type(e).__name__ == "Notice") == 1


def test_parse_target_keeps_colons_in_model_ids() -> None:
    assert parse_target("kimi:kimi-k2-thinking", "offline") == ("kimi", "kimi-k2-thinking")
    assert parse_target("llama3:8b", "openai-compatible") == ("openai-compatible", "llama3:8b")
    assert parse_target("openai-compatible:llama3:8b", "kimi") == ("openai-compatible", "llama3:8b")
    assert parse_target("Kimi:kimi-latest", "offline") == ("kimi", "kimi-latest")
    assert parse_target("kimi", "offline") == ("kimi", None)
    assert parse_target("kimi:", "offline") == ("kimi", None)
    assert parse_target("kimmi:foo", "offline") == ("offline", "kimmi:foo")


def test_bad_input_is_one_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="prompt is empty"):
        compare("  ", ["kimi-k2-turbo-preview"])
    with pytest.raises(ConfigurationError, match="No targets"):
        compare("hi", [])
    with pytest.raises(ConfigurationError, match="repeat=0"):
        compare("hi", ["kimi-latest"], repeat=0)
    comp = compare("hi", "kimi-latest kimi-k2.5", history=False)  # a space-separated string works too
    assert len(comp) == 2 and comp["kimi-k2.5"] is comp.rows[1]
    with pytest.raises(ConfigurationError, match="Did you mean 'ttft'"):
        comp.best("ttf")
    with pytest.raises(KeyError):
        comp["gpt-4o"]


def test_best_directions_and_missing_values() -> None:
    comp = compare("Why?", ["kimi-k2-thinking", "kimi-k2-turbo-preview", "bad-id"], history=False)
    thinking, turbo, bad = comp.rows
    # Token counts: fewer is better (cheaper); the thinking model also spends reasoning tokens.
    assert thinking.reasoning_tokens and turbo.reasoning_tokens is None
    assert comp.best("output_tokens") is min((thinking, turbo), key=lambda r: r.output_tokens or 0)
    assert comp.best("reasoning_tokens") is thinking  # the only row that reports it
    assert comp.sorted_by("ttft", reverse=True).rows[-1] is bad
    only_bad = compare("Why?", ["bad-id"], history=False)
    assert only_bad.best("ttft") is None and only_bad.status == "error"


def test_round_trip_json_markdown_html() -> None:
    comp = compare("Compare <b>this</b> & that", ["kimi-k2-turbo-preview", "kimi-k2-thinking", "kimi-k2-turb"],
                   temperature=0.2, max_tokens=12)
    data = json.loads(comp.to_json())
    assert data["kind"] == "compare" and data["params"] == {"repeat": 1, "temperature": 0.2, "max_tokens": 12}
    assert data["rows"][0]["stats"]["ttft"]["n"] == 1 and data["rows"][2]["suggestions"]
    again = Comparison.from_dict(data)
    assert again.to_dict() == comp.to_dict() and str(again) == str(comp)
    assert all(r.finish_reason == "length" for r in comp.rows if r.ok)  # max_tokens reached the provider
    md = comp.to_markdown()
    assert md.startswith("## Compare: Compare <b>this</b> & that")
    assert "| target | TTFT | latency | output tok | reasoning tok | tok/s | cost/run | finish | notes |" in md
    assert "### kimi-k2-thinking" in md and "<details><summary>Reasoning</summary>" in md
    assert "Did you mean: kimi-k2-turbo-preview" in md
    html = comp._repr_html_()
    assert "&lt;b&gt;this&lt;/b&gt; &amp; that" in html and "<b>this</b>" not in html
    assert html.count("<tr") == 4 and "grid-template-columns" in html


def test_run_is_stored_in_history_and_loads_back() -> None:
    comp = compare("Stored prompt", ["kimi-k2-turbo-preview", "kimi-k2-0905-preview"])
    rec = default_history().get(comp.id)
    assert rec.kind == "compare" and rec.status == "done" and rec.title == "Stored prompt"
    assert rec.provider == "offline" and rec.model == "kimi-k2-turbo-preview, kimi-k2-0905-preview"
    loaded = rec.load()
    assert isinstance(loaded, Comparison) and loaded.to_dict() == comp.to_dict()


def test_interrupt_keeps_partial_result_and_saves_it() -> None:
    slow = OfflineProvider(chunk_delay=0.05, default_model="kimi-k2-0905-preview")
    fast = OfflineProvider(chunk_delay=0.0, default_model="kimi-k2-turbo-preview")
    seen: dict[str, Any] = {}

    async def main() -> None:
        got_text = asyncio.Event()

        def sink(event: Event) -> None:
            if isinstance(event, RunStarted):
                seen["comp"] = event.run
            if isinstance(event, TextDelta) and event.pane == "t0" and event.text:
                seen["deltas"] = seen.get("deltas", 0) + 1
                if seen["deltas"] >= 3:
                    got_text.set()
            seen.setdefault("events", []).append(event)

        task = asyncio.ensure_future(acompare("Long answer please", [slow, (fast, None)], on_event=sink))
        await got_text.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    comp: Comparison = seen["comp"]
    assert comp.status == "interrupted"
    slow_row, fast_row = comp.rows
    assert slow_row.status == "interrupted" and len(slow_row.attempts[0].text.split()) >= 3
    assert fast_row.ok
    rec = default_history().get(comp.id)
    assert rec.status == "interrupted" and rec.data["rows"][0]["attempts"][0]["text"] == slow_row.text
    closed = [e for e in seen["events"] if isinstance(e, PaneClosed) and e.pane == "t0"]
    assert closed and closed[-1].status == "interrupted"
    assert isinstance(seen["events"][-1], RunFinished) and seen["events"][-1].status == "interrupted"
