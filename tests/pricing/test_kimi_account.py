"""Kimi parameters (thinking, max_completion_tokens, fixed params) and the account endpoints
(balance, token estimate) against the fake Moonshot server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llm_magics.errors import ConfigurationError
from llm_magics.keys.resolve import get_provider
from llm_magics.providers.kimi import Balance
from llm_magics.providers.kimi_params import describe_params, fixed_params, thinking_mode
from tests.fakeserver import FakeLLMServer

KEY = "sk-kimi-account-0000abcd"
MSGS = [{"role": "user", "content": "Audit the reset flow"}]


def kimi(srv: FakeLLMServer, model: str = "kimi-k2.6", **opts: Any) -> Any:
    return get_provider("kimi", api_key=KEY, base_url=srv.base_url, model=model, **opts)


def go(coro_fn: Any) -> Any:
    return asyncio.run(coro_fn())


def stream_once(p: Any, messages: Any = MSGS, **params: Any) -> None:
    async def run() -> None:
        try:
            async for _ in p.stream(messages, **params):
                pass
        finally:
            await p.aclose()

    asyncio.run(run())


def test_thinking_modes_per_model() -> None:
    assert thinking_mode("kimi-k2.6") == "switchable-keep"
    assert thinking_mode("kimi-k2.5") == "switchable"
    assert thinking_mode("kimi-k2-thinking") == "always" and thinking_mode("kimi-k2-thinking-turbo") == "always"
    assert thinking_mode("kimi-k2.7-code") == "always-keep"
    assert thinking_mode("moonshot-v1-8k") == "none" and thinking_mode("kimi-k2-0905-preview") == "none"
    assert fixed_params("kimi-k2.6") == {"temperature", "top_p", "n", "presence_penalty", "frequency_penalty"}
    assert fixed_params("moonshot-v1-8k") == frozenset()
    assert describe_params("kimi-k2.6")["fixed"] == "frequency_penalty, n, presence_penalty, temperature, top_p"


def test_thinking_off_is_sent_as_documented(fake_server: FakeLLMServer) -> None:
    stream_once(kimi(fake_server, thinking="off"), temperature=0.3, max_tokens=64)
    sent = fake_server.requests[-1].json
    assert sent["thinking"] == {"type": "disabled"}
    assert sent["max_completion_tokens"] == 64 and "max_tokens" not in sent
    assert "temperature" not in sent  # fixed by kimi-k2.6: never sent


def test_default_sends_no_thinking_field(fake_server: FakeLLMServer) -> None:
    stream_once(kimi(fake_server))
    assert "thinking" not in fake_server.requests[-1].json


def test_earlier_reasoning_is_kept_with_keep_all(fake_server: FakeLLMServer) -> None:
    history = [*MSGS, {"role": "assistant", "content": "Check tokens.", "reasoning": "First, the token TTL."},
               {"role": "user", "content": "And then?"}]
    stream_once(kimi(fake_server), history)
    sent = fake_server.requests[-1].json
    assert sent["messages"][1] == {"role": "assistant", "content": "Check tokens.",
                                   "reasoning_content": "First, the token TTL."}
    assert sent["thinking"] == {"type": "enabled", "keep": "all"}
    # kimi-k2.5 has no Preserved Thinking: reasoning goes back, no `keep`.
    stream_once(kimi(fake_server, model="kimi-k2.5"), history)
    assert "thinking" not in fake_server.requests[-1].json


def test_impossible_thinking_requests_fail_before_sending(fake_server: FakeLLMServer) -> None:
    with pytest.raises(ConfigurationError, match="always thinks"):
        stream_once(kimi(fake_server, model="kimi-k2-thinking", thinking="off"))
    with pytest.raises(ConfigurationError, match="no thinking mode"):
        stream_once(kimi(fake_server, model="moonshot-v1-8k", thinking="on"))
    with pytest.raises(ConfigurationError, match="enabled/disabled"):
        stream_once(kimi(fake_server, thinking="maybe"))
    assert fake_server.requests == []
    # "off" for a model that never thinks is simply true: nothing is sent for it.
    stream_once(kimi(fake_server, model="moonshot-v1-8k", thinking="off"))
    assert "thinking" not in fake_server.requests[-1].json


def test_balance_endpoint(fake_server: FakeLLMServer) -> None:
    p = kimi(fake_server)

    async def run() -> Balance:
        try:
            return await p.balance()
        finally:
            await p.aclose()

    bal = asyncio.run(run())
    assert bal == Balance(49.58894, 46.58893, 3.00001, "USD")  # 127.0.0.1 is not a .cn host
    req = fake_server.requests[-1]
    assert (req.method, req.path) == ("GET", "/v1/users/me/balance")
    assert req.headers["authorization"] == f"Bearer {KEY}"


def test_estimate_endpoint_counts_without_a_chat_request(fake_server: FakeLLMServer) -> None:
    p = kimi(fake_server)

    async def run() -> int:
        try:
            return int(await p.estimate_tokens([{"role": "system", "content": "You are Noor."}, *MSGS]))
        finally:
            await p.aclose()

    assert asyncio.run(run()) == 7  # the fake counts words, as its prompt_tokens does
    assert [(r.method, r.path) for r in fake_server.requests] == [("POST", "/v1/tokenizers/estimate-token-count")]
    assert fake_server.requests[0].json["model"] == "kimi-k2.6"
