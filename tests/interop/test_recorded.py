"""Issue 13, defects 1–9 and the server quirks: each test replays the exact bytes a real server sent
(LiteLLM proxy 1.108.7, llama.cpp's llama-server and llama-cpp-python 0.3.36; recordings in
tests/fixtures/interop/, the request behind each in INDEX.json) through the fake server to our
providers, over a real socket. No real server is needed here; tests/interop/test_litellm.py and
test_llama_cpp.py run the same flows against the live servers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llm_magics import errors as E
from llm_magics.keys.resolve import get_provider
from llm_magics.providers.base import StreamCollector
from tests._fakecanned import load
from tests.fakeserver import FakeLLMServer

MASTER = "sk-interop-master"  # the LiteLLM master key of the recordings (not a secret)
MSGS = [{"role": "user", "content": "hi"}]
FAST = {"backoff_base": 0.001, "backoff_cap": 0.01}


def run(coro_fn: Any, limit_s: float = 30.0) -> Any:
    """Run `coro_fn()`; a hang (the bug some tests guard against) fails after `limit_s` instead of forever."""
    async def go() -> Any:
        return await asyncio.wait_for(coro_fn(), limit_s)

    return asyncio.run(go())


def compat(srv: FakeLLMServer, model: str | None = None, **opts: Any) -> Any:
    return get_provider("openai-compatible", api_key=MASTER, base_url=srv.base_url, model=model, **{**FAST, **opts})


def anthropic(srv: FakeLLMServer, model: str, key: str = MASTER, **opts: Any) -> Any:
    return get_provider("anthropic", api_key=key, base_url=srv.root_url, model=model, **{**FAST, **opts})


def collect(provider: Any, model: str | None = None) -> Any:
    async def go() -> Any:
        try:
            col = StreamCollector(model or "", provider.name)
            async for chunk in provider.stream(MSGS, model=model):
                col.add(chunk)
            return col.result()
        finally:
            await provider.aclose()

    return run(go)


def fails(provider: Any, *, stream: bool = True, limit_s: float = 30.0) -> E.LLMError:
    async def go() -> Any:
        try:
            if stream:
                return [c async for c in provider.stream(MSGS)]
            return await provider.complete(MSGS)
        finally:
            await provider.aclose()

    with pytest.raises(E.LLMError) as info:
        run(go, limit_s)
    return info.value


def posts(srv: FakeLLMServer) -> int:
    return sum(r.method == "POST" for r in srv.requests)


# -- 1. unknown model: LiteLLM's 400 "Invalid model name" → ModelNotFoundError with did-you-mean ---------
def test_1_litellm_invalid_model_name_suggests_from_models(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/chat/completions": load("litellm/chat-invalid-model"),
                          "GET /v1/models": load("litellm/models")}
    err = fails(compat(fake_server, "mock-gtp"))
    assert isinstance(err, E.ModelNotFoundError)
    assert err.suggestions[0] == "mock-gpt" and err.status == 400
    assert "Model 'mock-gtp' was not found" in err.message and "Did you mean 'mock-gpt'" in (err.hint or "")


def test_1_litellm_anthropic_endpoint_invalid_model_suggests(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/messages": load("litellm/messages-invalid-model"),
                          "GET /v1/models": load("litellm/models-anthropic")}
    err = fails(anthropic(fake_server, "mock-claud"))
    assert isinstance(err, E.ModelNotFoundError) and err.suggestions[0] == "mock-claude"


def test_1_compare_unknown_model_fails_alone_with_did_you_mean(fake_server: FakeLLMServer,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_magics import compare

    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", MASTER)
    fake_server.canned = {"POST /v1/chat/completions mock-gtp": load("litellm/chat-invalid-model"),
                          "POST /v1/chat/completions mock-gpt": load("litellm/chat-stream"),
                          "GET /v1/models": load("litellm/models")}
    cmp = compare("hi", ["openai-compatible:mock-gtp", "openai-compatible:mock-gpt"], history=False)
    bad, good = cmp.rows
    assert bad.attempts[0].error_type == "ModelNotFoundError" and bad.attempts[0].suggestions[0] == "mock-gpt"
    assert good.ok and good.attempts[0].text == "Hello from the LiteLLM mock."


@pytest.mark.parametrize("body, status, expected", [
    # OpenAI (documented shape): 404, code model_not_found
    ('{"error": {"message": "The model `gpt-5x` does not exist or you do not have access to it.", '
     '"type": "invalid_request_error", "param": null, "code": "model_not_found"}}', 404, E.ModelNotFoundError),
    # the same words with 400 (gateways that rewrite the status)
    ('{"error": {"message": "The model `gpt-5x` does not exist", "type": "invalid_request_error"}}', 400,
     E.ModelNotFoundError),
    # vLLM: top-level error object
    ('{"object": "error", "message": "The model `llama-3` does not exist.", "type": "NotFoundError", '
     '"param": null, "code": 404}', 404, E.ModelNotFoundError),
    # Ollama
    ('{"error": {"message": "model \\"llama3\\" not found, try pulling it first", "type": "api_error", '
     '"param": null, "code": null}}', 404, E.ModelNotFoundError),
    # a 400 that is about something else stays a bad request
    ('{"error": {"message": "max_tokens must be at least 1", "type": "invalid_request_error"}}', 400,
     E.BadRequestError),
])
def test_1_model_not_found_shapes(body: str, status: int, expected: type) -> None:
    from llm_magics.providers.http import error_from_body

    err = error_from_body(status, body, provider="openai-compatible", host="h")
    assert type(err) is expected


# -- 2. discuss() on openai-compatible with no model: the server's first model, as everywhere ---------
def test_2_discuss_without_model_uses_servers_first_model(fake_server: FakeLLMServer,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_magics import discuss

    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", MASTER)
    fake_server.canned = {"POST /v1/chat/completions": load("litellm/chat-stream"),
                          "GET /v1/models": load("litellm/models")}
    tr = discuss("Ship on Friday?", "Noor", mode="sequential", provider="openai-compatible", history=False)
    assert tr.model == "mock-gpt"  # first of LiteLLM's /v1/models
    assert [t.text for t in tr.answers()] == ["Hello from the LiteLLM mock."]
    assert [r.json["model"] for r in fake_server.requests if r.method == "POST"] == ["mock-gpt"]


# -- 3. error events inside a stream: mapped by their own code/type, partial text kept -----------------
def test_3_litellm_backend_died_mid_stream(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/chat/completions": load("litellm/chat-backend-died")}
    err = fails(compat(fake_server, "dying"))
    assert type(err) is E.ProviderError and err.status is None
    assert "failed mid-stream (error 500)" in err.message and "Connection error" in err.message
    assert "HTTP None" not in str(err) and "base URL" not in str(err)
    assert getattr(err, "partial_text") == "Echo from "


def test_3_litellm_anthropic_api_error_event_mid_stream(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/messages": load("litellm/messages-backend-died")}
    err = fails(anthropic(fake_server, "dying-anthropic"))
    assert type(err) is E.ProviderError and err.error_type == "api_error"
    assert "failed mid-stream (error 500)" in err.message and "Response payload is not completed" in err.message
    assert getattr(err, "partial_text") == "Echo from "


# -- 4. keep-alive pings are not progress: a wedged llama-cpp-python stream ends --------------------
def test_4_llama_cpp_python_pings_do_not_keep_a_wedged_stream_alive(fake_server: FakeLLMServer) -> None:
    # The recorded stream: a role chunk, " they", then ": ping - <time>" every 15 s forever
    # (replayed every 0.05 s). Old code: each ping reset the read timeout, so this never ended.
    fake_server.canned = {"POST /v1/chat/completions": load("llama-cpp-python/chat-stream-wedged-after-text",
                                                            repeat_last=True, every=0.05)}
    err = fails(compat(fake_server, "tiny-py", read_timeout=0.5), limit_s=20)
    assert isinstance(err, E.StreamInterrupted) and "no progress for 0.5 s" in err.message
    assert err.partial_text == " they"


def test_4_wedged_before_any_text(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/chat/completions": load("llama-cpp-python/chat-stream-wedged",
                                                            repeat_last=True, every=0.05)}
    err = fails(compat(fake_server, "tiny-py", read_timeout=0.5), limit_s=20)
    assert isinstance(err, E.StreamInterrupted) and err.partial_text == ""


# -- 5. llama-server's aliases are models it serves ------------------------------------------------
def test_5_llama_server_aliases_are_offered(fake_server: FakeLLMServer) -> None:
    # `llama-server --alias tiny-chat,tiny`: /v1/models says {"id": "tiny", "aliases": ["tiny", "tiny-chat"]}
    fake_server.canned = {"GET /v1/models": load("llama-server/models-aliases")}
    p = compat(fake_server, "tiny-chat")

    async def go() -> Any:
        try:
            return await p.list_models(), await p.check()
        finally:
            await p.aclose()

    models, report = run(go)
    assert [(m.id, m.alias_of) for m in models] == [("tiny", None), ("tiny-chat", "tiny")]
    assert report.ok and report.default_model_present is True and report.model_count == 2


# -- 6. FastAPI {"detail": …} bodies keep the server's message ---------------------------------------
def test_6_llama_cpp_python_detail_message_kept(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/chat/completions": load("llama-cpp-python/chat-wrong-key-detail")}
    err = fails(compat(fake_server, "tiny-py"))
    assert isinstance(err, E.AuthenticationError) and err.status == 401
    assert err.message.endswith("refused the API key: Invalid API key")


def test_6_litellm_detail_not_found_kept(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"GET /v1/models": load("litellm/no-route-detail")}
    p = compat(fake_server, "mock-gpt")

    async def go() -> Any:
        try:
            return await p.check()
        finally:
            await p.aclose()

    report = run(go)
    assert not report.ok and report.error_status == 404 and ": Not Found" in (report.error or "")


def test_6_fastapi_validation_list() -> None:
    from llm_magics.providers.http import error_from_body

    body = '{"detail": [{"type": "missing", "loc": ["body", "messages"], "msg": "Field required", "input": {}}]}'
    err = error_from_body(422, body, provider="openai-compatible", host="h")
    assert isinstance(err, E.BadRequestError) and err.message == "h rejected the request: body.messages: Field required"


# -- 7. requested and served model, the same rule for stream and complete ------------------------------
def test_7_requested_alias_and_served_model_kept(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/chat/completions": load("llama-server/chat-stream-alias")}
    streamed = collect(compat(fake_server, "tiny-chat"), "tiny-chat")
    assert (streamed.model, streamed.served_model) == ("tiny-chat", "tiny")
    assert streamed.text == "^\ufffd\x7f\ufffd. have" and streamed.finish_reason == "length"
    assert streamed.usage is not None and (streamed.usage.prompt_tokens, streamed.usage.completion_tokens) == (22, 6)

    fake_server.canned = {"POST /v1/chat/completions": load("llama-server/chat-alias")}
    p = compat(fake_server, "tiny-chat")

    async def go() -> Any:
        try:
            return await p.complete(MSGS)
        finally:
            await p.aclose()

    done = run(go)
    assert (done.model, done.served_model) == ("tiny-chat", "tiny")
    assert done.text == "^\ufffdd\x00ez" and done.usage.cached_tokens == 21


# -- 8. a compare target given as a bare provider names the model it ran -----------------------------
def test_8_compare_bare_provider_target_records_model(fake_server: FakeLLMServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from llm_magics import compare

    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", MASTER)
    fake_server.canned = {"POST /v1/chat/completions": load("litellm/chat-stream"),
                          "GET /v1/models": load("litellm/models")}
    cmp = compare("hi", ["openai-compatible"], history=False)
    (row,) = cmp.rows
    assert (row.provider, row.model) == ("openai-compatible", "mock-gpt") and row.ok
    inst = compare("hi", [compat(fake_server)], history=False)
    assert (inst.rows[0].target, inst.rows[0].model) == ("openai-compatible:mock-gpt", "mock-gpt")


# -- 9. a whole JSON answer to a streamed request is a one-chunk stream --------------------------------
def test_9_litellm_messages_json_answer_to_stream(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/messages": load("litellm/messages-stream-mock")}
    done = collect(anthropic(fake_server, "mock-claude"), "mock-claude")
    assert done.text == "Hi from the Claude mock." and done.finish_reason == "stop"
    assert done.usage is not None and (done.usage.prompt_tokens, done.usage.completion_tokens) == (2095, 503)
    assert done.served_model == "mock-claude"


def test_9_chat_completion_json_answer_to_stream(fake_server: FakeLLMServer) -> None:
    # LiteLLM's non-streamed chat.completion bytes, sent back to a streamed request
    fake_server.canned = {"POST /v1/chat/completions": load("litellm/chat")}
    done = collect(compat(fake_server, "mock-gpt"), "mock-gpt")
    assert done.text == "Hello from the LiteLLM mock." and done.finish_reason == "stop"
    assert done.usage is not None and (done.usage.prompt_tokens, done.usage.completion_tokens) == (10, 20)


# -- server behaviours absorbed: say what happened and what to do ---------------------------------
def test_empty_stream_on_context_overflow_says_so(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/chat/completions": load("llama-cpp-python/chat-context-overflow-empty-stream")}
    err = fails(compat(fake_server, "tiny-py"))
    assert isinstance(err, E.StreamInterrupted) and "empty stream" in err.message and "--n_ctx" in (err.hint or "")


def test_validation_error_as_500_is_not_retried(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/chat/completions": load("llama-cpp-python/chat-validation-500")}
    err = fails(compat(fake_server, "tiny-py"), stream=False)
    assert isinstance(err, E.BadRequestError) and err.status == 500 and "validation error" in err.message
    assert posts(fake_server) == 1


def test_litellm_non_master_key_without_db(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/chat/completions": load("litellm/chat-wrong-key")}
    err = fails(compat(fake_server, "mock-gpt"))
    assert isinstance(err, E.AuthenticationError) and "No connected db." in err.message
    assert "master key" in (err.hint or "") and posts(fake_server) == 1


def test_llama_server_errors(fake_server: FakeLLMServer) -> None:
    fake_server.canned = {"POST /v1/chat/completions": load("llama-server/chat-wrong-key")}
    err = fails(compat(fake_server, "tiny"))
    assert isinstance(err, E.AuthenticationError) and err.message.endswith(": Invalid API Key")
    fake_server.canned = {"POST /v1/chat/completions": load("llama-server/chat-context-overflow")}
    err = fails(compat(fake_server, "tiny"))
    assert isinstance(err, E.BadRequestError) and "exceeds the available context size (256 tokens)" in err.message


def test_llama_cpp_python_cut_off_stream_names_interrupt_requests(fake_server: FakeLLMServer) -> None:
    # llama-cpp-python ends a stream that another request interrupts with [DONE] and no finish_reason
    fake_server.canned = {"POST /v1/chat/completions": load("llama-cpp-python/chat-stream-wedged-after-text")}
    fake_server.canned["POST /v1/chat/completions"] = _with_done(fake_server.canned["POST /v1/chat/completions"])
    err = fails(compat(fake_server, "tiny-py"))
    assert isinstance(err, E.StreamInterrupted) and err.partial_text == " they"
    assert "--interrupt_requests false" in (err.hint or "") and "concurrency=1" in (err.hint or "")


def _with_done(canned: Any) -> Any:
    """The recording's two data events, then what get_event_publisher sends when interrupted: [DONE]."""
    from dataclasses import replace

    done = b"e\r\ndata: [DONE]\n\n\r\n"
    return replace(canned, pieces=(*canned.pieces[:2], done, b"0\r\n\r\n"))


def test_2_estimate_without_model_uses_servers_first_model(fake_server: FakeLLMServer, ip: Any,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", MASTER)
    fake_server.canned = {"GET /v1/models": load("litellm/models")}
    ip.run_cell_magic("discuss", "--personas Noor --provider openai-compatible --estimate", "Ship on Friday?")
    out = capsys.readouterr().out
    assert "mock-gpt" in out and posts(fake_server) == 0  # an estimate sends no chat request
