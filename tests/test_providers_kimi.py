"""Kimi over real sockets: streaming, reasoning, usage, multi-turn, defaults, region 401, 404 hints,
and the stream pathologies (fragmented writes, keep-alives, CRLF, disconnects, stalls)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llm_magics.errors import (
    AuthenticationError,
    ConfigurationError,
    ModelNotFoundError,
    OverloadedError,
    StreamInterrupted,
)
from llm_magics.providers import Chunk, KeyRef, Secret
from llm_magics.keys.resolve import get_provider
from llm_magics.providers.kimi import KimiProvider, family_defaults
from tests.fakeserver import FakeLLMServer

KEY = "sk-kimi-test-SECRET-0000abcd"
MSGS = [{"role": "system", "content": "You are Noor."}, {"role": "user", "content": "Audit the reset flow"}]


def kimi(srv: FakeLLMServer, model: str = "kimi-k2-0905-preview", **opts: Any) -> Any:
    opts.setdefault("backoff_base", 0.001)
    return get_provider("kimi", api_key=KEY, base_url=srv.base_url, model=model, **opts)


def collect(provider: Any, messages: Any = MSGS, **params: Any) -> list[Chunk]:
    async def go() -> list[Chunk]:
        try:
            return [c async for c in provider.stream(messages, **params)]
        finally:
            await provider.aclose()

    return asyncio.run(go())


def complete(provider: Any, messages: Any = MSGS, **params: Any) -> Any:
    async def go() -> Any:
        try:
            return await provider.complete(messages, **params)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def test_stream_and_complete_give_the_same_text(fake_server: FakeLLMServer) -> None:
    fake_server.valid_keys = {KEY}
    p = kimi(fake_server)
    chunks = collect(p)
    text = "".join(c.text for c in chunks)
    assert text == "Echo from kimi-k2-0905-preview [system: You are Noor.]: Audit the reset flow"
    assert len(chunks) > 5 and all(c.usage is None for c in chunks[:-1])
    last = chunks[-1]
    assert last.finish_reason == "stop" and last.usage and last.usage.completion_tokens == len(chunks) - 1
    done = complete(p)
    assert done.text == text and done.usage and done.usage.total_tokens > 0
    sent = [r.json for r in fake_server.requests]
    assert sent[0]["stream"] is True and sent[1]["stream"] is False
    assert "stream_options" not in sent[0]  # Moonshot reports usage in choices[0].usage
    assert fake_server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert sent[0]["temperature"] == 0.6  # K2 family default


def test_default_base_url_comes_from_the_spec() -> None:
    p = get_provider("kimi", api_key=KEY)
    assert p.base_url == "https://api.moonshot.ai/v1"


@pytest.mark.parametrize("style", ["moonshot", "openai", "both"])
def test_usage_from_choices_or_top_level(fake_server: FakeLLMServer, style: str) -> None:
    fake_server.usage_style = style
    chunks = collect(kimi(fake_server))
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens == 7 and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert chunks[-1].finish_reason == "stop"


def test_thinking_model_streams_reasoning_apart_and_sends_it_back(fake_server: FakeLLMServer) -> None:
    p = kimi(fake_server, model="kimi-k2-thinking")
    chunks = collect(p)
    reasoning = "".join(c.reasoning for c in chunks)
    text = "".join(c.text for c in chunks)
    assert reasoning == "Let me think about 'Audit the reset flow' step by step."
    assert text.startswith("Echo from kimi-k2-thinking")
    first_text = next(i for i, c in enumerate(chunks) if c.text)
    assert all(c.reasoning and not c.text for c in chunks[:first_text])
    done = complete(p)
    assert done.reasoning == reasoning and done.text == text
    history = [*MSGS, done.as_message(), {"role": "user", "content": "and then?"}]
    collect(p, history)
    sent = fake_server.requests[-1].json
    assert sent["messages"][2] == {"role": "assistant", "content": text, "reasoning_content": reasoning}
    # Moonshot deprecates max_tokens for max_completion_tokens (https://platform.kimi.ai/docs/api/chat).
    assert sent["temperature"] == 1.0 and sent["max_completion_tokens"] == 16000 and "max_tokens" not in sent


def test_family_defaults_and_fixed_params(fake_server: FakeLLMServer) -> None:
    assert family_defaults("kimi-k2-turbo-preview") == {"temperature": 0.6}
    assert family_defaults("moonshot-v1-8k") == {}
    for fixed in ("kimi-k2.5", "kimi-k2.6"):  # sampling fixed server-side: never sent
        collect(kimi(fake_server, model=fixed), temperature=0.3, top_p=0.5, max_tokens=50)
        sent = fake_server.requests[-1].json
        assert "temperature" not in sent and "top_p" not in sent and sent["max_completion_tokens"] == 50
    collect(kimi(fake_server, model="moonshot-v1-8k", temperature=0.2))
    assert fake_server.requests[-1].json["temperature"] == 0.2  # provider option
    collect(kimi(fake_server, temperature=0.2), temperature=0.9)
    assert fake_server.requests[-1].json["temperature"] == 0.9  # per-call wins


@pytest.mark.parametrize("temperature", [1.5, -0.1])
def test_temperature_is_checked_before_sending(fake_server: FakeLLMServer, temperature: float) -> None:
    with pytest.raises(ConfigurationError, match=r"\[0, 1\]"):
        collect(kimi(fake_server), temperature=temperature)
    with pytest.raises(ConfigurationError):
        complete(kimi(fake_server, temperature=temperature))
    assert fake_server.requests == []


def test_401_names_host_and_region_switch(fake_server: FakeLLMServer) -> None:
    fake_server.valid_keys = {"sk-other-key-0000000000"}
    with pytest.raises(AuthenticationError) as exc:
        collect(kimi(fake_server))
    msg = str(exc.value)
    assert fake_server.base_url in msg
    assert "platform.moonshot.cn" in msg and "https://api.moonshot.cn/v1" in msg
    assert "https://api.moonshot.ai/v1" in msg and "KIMI_BASE_URL=" in msg and "base_url=" in msg
    assert KEY not in msg and KEY not in repr(exc.value) and "sk-…abcd" in msg
    assert len(fake_server.requests) == 1  # never retried


def test_401_on_the_global_host_suggests_the_china_host() -> None:
    p = KimiProvider(key=KeyRef(Secret(KEY), "explicit"), base_url="https://api.moonshot.ai/v1")
    from llm_magics.errors import AuthenticationError as AE

    err = p._describe_error(AE("x", status=401, provider="kimi"))
    assert err.hint and "KIMI_BASE_URL=https://api.moonshot.cn/v1" in err.hint


def test_401_marks_the_key_invalid(fake_server: FakeLLMServer) -> None:
    fake_server.valid_keys = set()
    marked: list[bool] = []
    key = KeyRef(Secret(KEY), "store:k1", key_id="k1", on_invalid=lambda: marked.append(True))
    p = KimiProvider(key=key, base_url=fake_server.base_url, default_model="kimi-k2-0905-preview")
    with pytest.raises(AuthenticationError, match="store:k1"):
        complete(p)
    assert marked == [True]


def test_unknown_model_lists_closest_ids(fake_server: FakeLLMServer) -> None:
    with pytest.raises(ModelNotFoundError) as exc:
        collect(kimi(fake_server, model="kimi-k2-0905"))
    assert "kimi-k2-0905-preview" in exc.value.suggestions
    assert "kimi-k2-0905" in str(exc.value) and "Did you mean" in str(exc.value)
    with pytest.raises(ModelNotFoundError) as exc2:
        complete(kimi(fake_server, model="moonshot-v1-8"))
    assert exc2.value.suggestions[0].startswith("moonshot-v1-8k")


@pytest.mark.parametrize("switch", ["fragment", "keepalive", "crlf", "cr", "all"])
def test_stream_survives_wire_quirks(fake_server: FakeLLMServer, switch: str) -> None:
    expected = "".join(c.text for c in collect(kimi(fake_server, model="kimi-k2-thinking")))
    if switch in ("fragment", "all"):
        fake_server.fragment = True
    if switch in ("keepalive", "all"):
        fake_server.keepalive = True
    if switch == "crlf" or switch == "all":
        fake_server.line_ending = "\r\n"
    if switch == "cr":
        fake_server.line_ending = "\r"
    chunks = collect(kimi(fake_server, model="kimi-k2-thinking"))
    assert "".join(c.text for c in chunks) == expected
    assert "".join(c.reasoning for c in chunks).startswith("Let me think")
    assert chunks[-1].usage is not None


def test_disconnect_mid_stream_keeps_partial_text(fake_server: FakeLLMServer) -> None:
    fake_server.disconnect_after = 3
    with pytest.raises(StreamInterrupted) as exc:
        collect(kimi(fake_server))
    assert exc.value.partial_text == "Echo from kimi-k2-0905-preview "
    assert len(fake_server.requests) == 1  # a started stream is not retried


def test_stall_raises_within_read_timeout_with_partial_text(fake_server: FakeLLMServer) -> None:
    fake_server.stall_after = 2
    with pytest.raises(StreamInterrupted, match="stalled") as exc:
        collect(kimi(fake_server, read_timeout=0.3))
    assert exc.value.partial_text == "Echo from "
    fake_server.release_stalls()


def test_stream_without_finish_is_interrupted(fake_server: FakeLLMServer) -> None:
    fake_server.finish = False
    with pytest.raises(StreamInterrupted, match="ended before") as exc:
        collect(kimi(fake_server, model="kimi-k2-thinking"))
    assert exc.value.partial_text.startswith("Echo from") and exc.value.partial_reasoning.startswith("Let me")


def test_error_object_mid_stream_is_typed_and_keeps_text(fake_server: FakeLLMServer) -> None:
    fake_server.fail_next(429, "engine_overloaded_error", after_chunks=2)
    with pytest.raises(OverloadedError, match="overloaded") as exc:
        collect(kimi(fake_server))
    assert getattr(exc.value, "partial_text") == "Echo from "
    assert len(fake_server.requests) == 1


def test_pacing_orders_fast_and_slow_models(fake_server: FakeLLMServer) -> None:
    fake_server.pacing["kimi-k2-thinking"] = (0.15, 0.0)

    async def both() -> list[str]:
        order: list[str] = []
        # concurrency=2: both in flight at once (Kimi starts at Tier-0's one request at a time until
        # the server announces its limits, and a non-streamed answer announces them only at its end).
        fast = kimi(fake_server, model="kimi-k2-turbo-preview", concurrency=2)
        slow = kimi(fake_server, model="kimi-k2-thinking", concurrency=2)

        async def run(p: Any) -> None:
            await p.complete(MSGS)
            order.append(p.default_model)
            await p.aclose()

        await asyncio.gather(run(slow), run(fast))
        return order

    assert asyncio.run(both()) == ["kimi-k2-turbo-preview", "kimi-k2-thinking"]
