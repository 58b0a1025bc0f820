"""Anthropic Messages API over real sockets: headers, system prompt, named events, thinking,
cumulative usage, non-streaming, models, 404 suggestions, interruptions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llm_magics.errors import ModelNotFoundError, StreamInterrupted
from llm_magics.keys.resolve import get_provider
from tests.fakeserver import FakeLLMServer

KEY = "sk-ant-test-000000000000qq"
MSGS = [{"role": "system", "content": "You are Sasha."}, {"role": "user", "content": "Plan the launch"}]


def ant(srv: FakeLLMServer, model: str = "claude-sonnet-4-5", base_url: str | None = None, **opts: Any) -> Any:
    return get_provider("anthropic", api_key=KEY, base_url=base_url or srv.root_url, model=model, **opts)


def go(p: Any, stream: bool = True, messages: Any = MSGS, **params: Any) -> Any:
    async def inner() -> Any:
        try:
            if stream:
                return [c async for c in p.stream(messages, **params)]
            return await p.complete(messages, **params)
        finally:
            await p.aclose()

    return asyncio.run(inner())


def test_stream_request_shape_and_result(fake_server: FakeLLMServer) -> None:
    fake_server.valid_keys = {KEY}
    chunks = go(ant(fake_server))
    req = fake_server.requests[0]
    assert req.path == "/v1/messages"
    assert req.headers["x-api-key"] == KEY and req.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in req.headers
    assert req.json["system"] == "You are Sasha." and req.json["max_tokens"] == 4096
    assert req.json["messages"] == [{"role": "user", "content": "Plan the launch"}]
    text = "".join(c.text for c in chunks)
    assert text == "Echo from claude-sonnet-4-5 [system: You are Sasha.]: Plan the launch"
    last = chunks[-1]
    assert last.finish_reason == "stop" and last.usage is not None
    assert last.usage.prompt_tokens == 6 and last.usage.completion_tokens == len(chunks) - 1


def test_complete_matches_stream_and_options_apply(fake_server: FakeLLMServer) -> None:
    streamed = "".join(c.text for c in go(ant(fake_server, max_tokens=300, temperature=0.2)))
    done = go(ant(fake_server, max_tokens=300, temperature=0.2), stream=False)
    assert done.text == streamed and done.finish_reason == "stop" and done.usage and done.usage.total_tokens > 0
    assert fake_server.requests[1].json["max_tokens"] == 300 and fake_server.requests[1].json["temperature"] == 0.2


def test_thinking_deltas_become_reasoning(fake_server: FakeLLMServer) -> None:
    thinking = {"type": "enabled", "budget_tokens": 2000}
    chunks = go(ant(fake_server), thinking=thinking)
    assert "".join(c.reasoning for c in chunks) == "Let me think about 'Plan the launch' step by step."
    assert fake_server.requests[0].json["thinking"] == thinking
    done = go(ant(fake_server), stream=False, thinking=thinking)
    assert done.reasoning.startswith("Let me think") and done.text.startswith("Echo from")


def test_base_url_with_v1_and_wire_quirks(fake_server: FakeLLMServer) -> None:
    fake_server.fragment = True
    fake_server.line_ending = "\r\n"
    fake_server.keepalive = True
    chunks = go(ant(fake_server, base_url=fake_server.base_url))
    assert fake_server.requests[0].path == "/v1/messages"
    assert "".join(c.text for c in chunks).endswith("Plan the launch")


def test_models_and_404_suggestions(fake_server: FakeLLMServer) -> None:
    models = asyncio.run(ant(fake_server).list_models())
    assert [m.id for m in models] == fake_server.models and models[0].created is not None
    with pytest.raises(ModelNotFoundError) as exc:
        go(ant(fake_server, model="claude-sonnet-4"))
    assert "claude-sonnet-4-5" in exc.value.suggestions


def test_disconnect_and_missing_stop(fake_server: FakeLLMServer) -> None:
    fake_server.disconnect_after = 2
    with pytest.raises(StreamInterrupted) as exc:
        go(ant(fake_server))
    assert exc.value.partial_text == "Echo from "
    fake_server.disconnect_after = None
    fake_server.finish = False
    with pytest.raises(StreamInterrupted, match="ended before"):
        go(ant(fake_server))
