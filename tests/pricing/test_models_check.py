"""`%llm models` lifecycle marks, prices and --details; `%llm check` with the balance and a default
model the server does not serve — against the fake Moonshot server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakeserver import FakeLLMServer

KEY = "sk-test-models-0000abcd"


@pytest.fixture
def kimi_env(fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> FakeLLMServer:
    monkeypatch.setenv("KIMI_API_KEY", KEY)
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    fake_server.models = ["kimi-k2.6", "kimi-k2.5", "kimi-k3", "moonshot-v1-8k"]
    return fake_server


def test_models_marks_new_and_not_served(ip: Any, kimi_env: FakeLLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("llm", "models kimi --refresh --details")
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("kimi", "moonshot"))}
    assert "new (not in the built-in list)" in rows["kimi-k3"] and "—" in rows["kimi-k3"]  # no price known
    assert "default" in rows["kimi-k2.6"] and "$0.95 / $0.16 cached / $4.00 out" in rows["kimi-k2.6"]
    for retired in ("kimi-k2-thinking", "kimi-k2-0905-preview", "moonshot-v1-auto"):
        assert "not served (missing from /v1/models)" in rows[retired]
    # --details: the parameters kimi-k2.6 fixes are never sent; its thinking switch
    assert "frequency_penalty, n, presence_penalty, temperature, top_p" in rows["kimi-k2.6"]
    assert "off disables" in rows["kimi-k2.6"] and "always on" in rows["kimi-k2-thinking"]


def test_check_shows_balance_and_warns_about_an_unserved_default(ip: Any, kimi_env: FakeLLMServer,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    kimi_env.models = ["kimi-k2.6-preview", "moonshot-v1-8k"]  # the default kimi-k2.6 is gone
    ip.run_line_magic("llm", "check kimi")
    out = capsys.readouterr().out
    assert "balance:    available $49.59 (cash $3.00 + voucher $46.59)" in out
    assert "kimi-k2.6 — NOT offered by this server; closest: kimi-k2.6-preview" in out


def test_check_shows_the_rate_limit_headers(ip: Any, kimi_env: FakeLLMServer, capsys: pytest.CaptureFixture[str]) -> None:
    from tests._fakelimits import RateGate

    kimi_env.gate = RateGate(rpm=3, concurrency=1)  # a Tier-0 key: every response says so in X-RateLimit-*
    ip.run_line_magic("llm", "check kimi")
    line = next(x for x in capsys.readouterr().out.splitlines() if x.strip().startswith("rate limit:"))
    assert "last X-RateLimit headers: limit 3" in line and "remaining" in line
