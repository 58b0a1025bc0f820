"""Issue 15 acceptance, through the magics, against the fake Moonshot server on 127.0.0.1.

With a user price file, a discussion's and a comparison's cost equal tokens × prices to the cent
(cached tokens at the cached rate) and read the same in the live view, the static output and the
history. --estimate sends no chat request; an over-budget run sends no request at all and says why;
%llm balance works against the fake server and says in one line when a provider has none.

Token counts are computed here from what the server received (`count_prompt_words` = its
prompt_tokens, the reply's chunks = its completion_tokens), independently of the client.
"""

from __future__ import annotations

from typing import Any

import pytest
from IPython.core.error import UsageError

from llm_magics.pricing.catalog import user_prices_path
from tests._fakewire import count_prompt_words, echo_reply, split_chunks
from tests.fakeserver import FakeLLMServer

KEY = "sk-test-acceptance-0000abcd"
# Deliberately large prices so the fake server's small token counts give amounts in whole cents.
IN, CACHED, OUT = 1000.00, 100.00, 5000.00  # USD per million tokens


def cached_of(req: dict[str, Any]) -> int:
    """The fake server reports half the prompt (rounded down) as served from the cache."""
    return count_prompt_words(req) // 2


@pytest.fixture
def kimi_env(fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> FakeLLMServer:
    monkeypatch.setenv("KIMI_API_KEY", KEY)
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    user_prices_path().write_text(
        "kimi:\n"
        f"  kimi-k2.6: {{input: {IN}, cached_input: {CACHED}, output: {OUT}, currency: USD, date: 2026-11-26,"
        ' source: "https://example.test/my-contract"}\n'
        f"  kimi-k2.5: {{input: {IN / 2}, cached_input: {CACHED / 2}, output: {OUT / 2}, currency: USD}}\n",
        encoding="utf-8")
    fake_server.usage_extra = lambda req: {"cached_tokens": cached_of(req)}
    return fake_server


def chat_requests(srv: FakeLLMServer) -> list[Any]:
    return [r for r in srv.requests if r.path.endswith("/chat/completions")]


def hand_cost(srv: FakeLLMServer, prices: dict[str, tuple[float, float, float]]) -> float:
    """Σ over the chat requests the server answered: tokens × prices, per million."""
    total = 0.0
    for r in chat_requests(srv):
        req = r.json
        prompt, cached = count_prompt_words(req), cached_of(req)
        out = len(split_chunks(echo_reply(req)))
        pin, pcached, pout = prices[req["model"]]
        total += ((prompt - cached) * pin + cached * pcached + out * pout) / 1_000_000
    return total


def usd(x: float) -> str:
    """How amounts read: 4 decimals under $1 (small runs must not read as $0.00), cents from $1."""
    return f"${x:.4f}" if x < 1 else f"${x:,.2f}"


def test_discussion_cost_is_tokens_times_prices_everywhere(ip: Any, kimi_env: FakeLLMServer,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell_magic("discuss", '--personas "Noor Okafor, Sasha Lindqvist" --mode parallel --model kimi-k2.6 --out tr',
                      "Should we let users sign in with a magic link?")
    live = capsys.readouterr().out
    tr = ip.user_ns["tr"]
    assert len(chat_requests(kimi_env)) == 2
    expected = hand_cost(kimi_env, {"kimi-k2.6": (IN, CACHED, OUT)})
    assert expected > 0.05  # whole cents, so "to the cent" means something
    shown = usd(expected)
    # cached tokens really were reported and priced at the cached rate
    assert all(t.usage.cached_tokens and t.usage.cached_tokens > 0 for t in tr.messages)
    # the object, the live view (terminal), the static Markdown and the history agree
    assert tr.totals["cost"].single().amount == pytest.approx(expected, abs=0.005)
    assert f"cost {shown}" in live
    assert f"cost {shown}" in tr.to_markdown()
    per_turn = sum(t.cost.amount for t in tr.messages)
    assert round(per_turn, 2) == round(expected, 2)
    for t in tr.messages:
        assert usd(t.cost.amount) in live and usd(t.cost.amount) in tr.to_markdown()
    ip.run_line_magic("llm", "usage --by model")
    usage = capsys.readouterr().out
    assert "kimi:kimi-k2.6" in usage and shown in usage
    ip.run_line_magic("llm", "history 5")
    listing = capsys.readouterr().out
    assert tr.id in listing and shown in listing
    from llm_magics.history.store import default_history
    from llm_magics.pricing.ledger import run_cost

    stored = default_history().get(tr.id)
    assert run_cost(stored.data, stored.provider, stored.model).single().amount == pytest.approx(expected)


def test_compare_cost_column_and_total(ip: Any, kimi_env: FakeLLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell_magic("compare", "kimi:kimi-k2.6 kimi:kimi-k2.5 --repeat 2 --out comp", "Name three CRDTs")
    live = capsys.readouterr().out
    comp = ip.user_ns["comp"]
    assert len(chat_requests(kimi_env)) == 4
    expected = hand_cost(kimi_env, {"kimi-k2.6": (IN, CACHED, OUT), "kimi-k2.5": (IN / 2, CACHED / 2, OUT / 2)})
    assert comp.cost.single().amount == pytest.approx(expected)
    total = usd(expected)
    assert f"total cost {total}" in comp.to_markdown()
    assert total in live
    k26 = comp["kimi:kimi-k2.6"]
    per_run = k26.cost.amount
    assert per_run is not None and usd(per_run) in comp.to_markdown() and usd(per_run) in str(comp)
    ip.run_line_magic("llm", "usage --by provider")
    assert total in capsys.readouterr().out


def test_estimate_sends_no_chat_request(ip: Any, kimi_env: FakeLLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell_magic("discuss", '--personas "Noor Okafor, Sasha" --mode parallel --model kimi-k2.6 --max-tokens 100 '
                      "--estimate", "Should we let users sign in with a magic link?")
    out = capsys.readouterr().out
    assert chat_requests(kimi_env) == []
    assert all(r.path == "/v1/tokenizers/estimate-token-count" for r in kimi_env.requests) and kimi_env.requests
    assert "2 calls" in out and "kimi tokenizer endpoint" in out and "no chat request sent" in out
    # The range: tokenizer count × input price → + 2 × 100 output tokens × output price.
    prompt = sum(count_prompt_words(r.json) for r in kimi_env.requests)
    lo, hi = prompt * IN / 1e6, prompt * IN / 1e6 + 200 * OUT / 1e6
    assert f"{usd(lo)} – {usd(hi)}" in out
    for magic, line, cell in (("compare", "kimi:kimi-k2.6 kimi:kimi-k2.5 --estimate", "Hi"),
                              ("workflow", "code-review --estimate", "def f(x): return eval(x)")):
        ip.run_cell_magic(magic, line, cell)
        assert "no chat request sent" in capsys.readouterr().out
    assert chat_requests(kimi_env) == []


def test_over_budget_sends_nothing_and_says_why(ip: Any, kimi_env: FakeLLMServer) -> None:
    ip.run_line_magic("llm", "config budget=0.001")
    with pytest.raises(UsageError) as err:
        ip.run_cell_magic("discuss", '--personas "Noor Okafor, Sasha" --model kimi-k2.6',
                          "Should we let users sign in with a magic link?")
    text = str(err.value)
    assert "Not started" in text and "estimated minimum cost" in text and "budget" in text and "$0.0010" in text
    assert kimi_env.requests == []  # not even a token estimate: the budget check counts locally
    with pytest.raises(UsageError, match="Not started"):
        ip.run_cell_magic("compare", "kimi:kimi-k2.6", "Name three CRDTs")
    assert kimi_env.requests == []


def test_workflow_stops_when_the_budget_is_used_up(ip: Any, kimi_env: FakeLLMServer) -> None:
    from llm_magics.pricing import budget
    from llm_magics.providers.base import Cost

    spec = ("name: two-steps\ninput: a login form\nsteps:\n"
            "  - id: first\n    prompt: 'Risks of {{ input }}'\n"
            "  - id: second\n    prompt: 'Fixes for {{ steps.first.output }}'\n")
    ip.run_line_magic("llm", "config budget=1.00")
    # Spent earlier this session: $0.04 is left, enough for the estimated minimum (~$0.02) but not
    # for the first step (8 output tokens × $5000/M + input ≈ $0.043), so the second never starts.
    budget.record(Cost(0.96, "USD", True))
    ip.run_cell_magic("workflow", "--model kimi-k2.6 --out run", spec)
    run = ip.user_ns["run"]
    assert run.steps["first"].status == "done" and run.steps["second"].status == "skipped"
    assert "budget" in (run.steps["second"].error or "") and "Budget used up" in (run.error or "")
    assert len(chat_requests(kimi_env)) == 1


def test_balance_and_the_one_line_without_it(ip: Any, kimi_env: FakeLLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("llm", "balance kimi")
    out = capsys.readouterr().out
    assert "available $49.59 (cash $3.00 + voucher $46.59)" in out
    ip.run_line_magic("llm", "balance offline")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "offline has no balance endpoint" in lines[0]
