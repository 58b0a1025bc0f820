"""A real LiteLLM proxy (1.108.7, its own venv: .ci/interop_venv.sh) on 127.0.0.1: provider checks,
streaming, errors, and the three magics, through its OpenAI (/v1/chat/completions) and Anthropic
(/v1/messages) endpoints. Models: `mock-gpt` / `mock-claude` answer fixed `mock_response` texts;
`dying` / `dying-anthropic` sit on a fake backend that drops every stream after two chunks.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llm_magics import errors as E
from llm_magics.keys.resolve import get_provider
from llm_magics.providers.base import StreamCollector
from tests.interop.conftest import MASTER
from tests.interop.servers import Server

MSGS = [{"role": "user", "content": "hi"}]
OPENAI_TEXT = "Hello from the LiteLLM mock."
CLAUDE_TEXT = "Hi from the Claude mock."


def arun(fn: Any, limit_s: float = 60.0) -> Any:
    async def go() -> Any:
        return await asyncio.wait_for(fn(), limit_s)

    return asyncio.run(go())


def compat(proxy: Server, model: str | None = None, key: str = MASTER) -> Any:
    return get_provider("openai-compatible", api_key=key, base_url=proxy.base_url, model=model, max_retries=0)


def claude(proxy: Server, model: str = "mock-claude") -> Any:
    return get_provider("anthropic", api_key=MASTER, base_url=proxy.root_url, model=model, max_retries=0)


def collect(provider: Any) -> Any:
    async def go() -> Any:
        try:
            col = StreamCollector(await provider.aresolve_model(None), provider.name)
            async for chunk in provider.stream(MSGS):
                col.add(chunk)
            return col.result()
        finally:
            await provider.aclose()

    return arun(go)


def failure(provider: Any) -> E.LLMError:
    with pytest.raises(E.LLMError) as info:
        collect(provider)
    return info.value


@pytest.fixture
def env(litellm: Server, monkeypatch: pytest.MonkeyPatch) -> Server:
    """Providers by name point at the proxy (as a user's environment would)."""
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", litellm.base_url)
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", MASTER)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", litellm.root_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", MASTER)
    return litellm


# -- provider checks -------------------------------------------------------------------------------
def test_models_and_check(litellm: Server) -> None:
    p = compat(litellm, "mock-gtp")

    async def go() -> Any:
        try:
            return [m.id for m in await p.list_models()], await p.check()
        finally:
            await p.aclose()

    ids, report = arun(go)
    assert ids == ["mock-gpt", "mock-claude", "dying", "dying-anthropic"]
    assert report.models_reachable and report.default_model_present is False and report.suggestions[0] == "mock-gpt"

    a = claude(litellm)

    async def go_a() -> Any:
        try:
            return await a.check()
        finally:
            await a.aclose()

    assert arun(go_a).default_model_present is True  # Anthropic-shaped /v1/models of the proxy


def test_a_key_other_than_the_master_key(litellm: Server) -> None:
    err = failure(compat(litellm, "mock-gpt", key="sk-not-the-master-key"))
    assert isinstance(err, E.AuthenticationError) and "master key" in (err.hint or "")


# -- streaming and complete ------------------------------------------------------------------------
def test_openai_endpoint_stream_and_complete(litellm: Server) -> None:
    done = collect(compat(litellm))  # no model: the proxy's first one
    assert (done.model, done.served_model, done.text, done.finish_reason) == ("mock-gpt", "mock-gpt", OPENAI_TEXT, "stop")
    assert done.usage is not None and done.usage.completion_tokens > 0

    p = compat(litellm, "mock-gpt")

    async def go() -> Any:
        try:
            return await p.complete(MSGS)
        finally:
            await p.aclose()

    whole = arun(go)
    assert (whole.text, whole.model, whole.finish_reason) == (OPENAI_TEXT, "mock-gpt", "stop")


def test_anthropic_endpoint_answers_a_stream_with_json(litellm: Server) -> None:
    done = collect(claude(litellm))
    assert (done.text, done.finish_reason, done.served_model) == (CLAUDE_TEXT, "stop", "mock-claude")


# -- errors ----------------------------------------------------------------------------------------
def test_unknown_model_did_you_mean_on_both_endpoints(litellm: Server) -> None:
    err = failure(compat(litellm, "mock-gtp"))
    assert isinstance(err, E.ModelNotFoundError) and err.suggestions[0] == "mock-gpt"
    err = failure(claude(litellm, "mock-claud"))
    assert isinstance(err, E.ModelNotFoundError) and err.suggestions[0] == "mock-claude"


def test_backend_dying_mid_stream_keeps_the_partial_text(litellm: Server) -> None:
    err = failure(compat(litellm, "dying"))
    assert type(err) is E.ProviderError and "failed mid-stream (error 500)" in err.message
    assert getattr(err, "partial_text") == "Echo from "
    err = failure(claude(litellm, "dying-anthropic"))
    assert type(err) is E.ProviderError and err.error_type == "api_error"
    assert getattr(err, "partial_text") == "Echo from "


# -- the magics ------------------------------------------------------------------------------------
def test_llm_check_magic(env: Server, ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("llm", "check openai-compatible")
    out = capsys.readouterr().out
    assert env.base_url in out and "reachable" in out and "4 models" in out


def test_discuss_magic_without_model(env: Server, ip: Any) -> None:
    ip.run_cell_magic("discuss", '--personas "Noor, Sasha" --mode parallel --provider openai-compatible --out t',
                      "Ship on Friday?")
    tr = ip.user_ns.pop("t")
    assert tr.status == "done" and tr.model == "mock-gpt"
    assert [t.text for t in tr.answers()] == [OPENAI_TEXT, OPENAI_TEXT]


def test_workflow_magic(env: Server, ip: Any) -> None:
    spec = (
        "name: interop\n"
        "input: a login form\n"
        "steps:\n"
        "  - id: review\n"
        "    persona: ux\n"
        "    prompt: Review {{ input }}\n"
        "  - id: fix\n"
        "    persona: Noor\n"
        "    prompt: \"Fix what this review found: {{ steps.review.output }}\"\n"
    )
    ip.run_cell_magic("workflow", "--provider openai-compatible --out r", spec)
    run = ip.user_ns.pop("r")
    assert run.ok and [run[s].output for s in ("review", "fix")] == [OPENAI_TEXT, OPENAI_TEXT]


def test_compare_magic_mixes_endpoints_and_names_the_typo(env: Server, ip: Any) -> None:
    ip.run_cell_magic("compare", "openai-compatible openai-compatible:mock-gtp anthropic:mock-claude --out c", "hi")
    rows = ip.user_ns.pop("c").rows
    assert [(r.provider, r.model, r.ok) for r in rows] == [
        ("openai-compatible", "mock-gpt", True), ("openai-compatible", "mock-gtp", False), ("anthropic", "mock-claude", True)]
    assert rows[0].attempts[0].text == OPENAI_TEXT and rows[2].attempts[0].text == CLAUDE_TEXT
    assert rows[1].attempts[0].suggestions[0] == "mock-gpt"
