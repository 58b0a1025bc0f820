"""llama.cpp's `llama-server` (built by `bash .ci/interop.sh`) on a tiny random GGUF written with the
`gguf` package: provider checks, streaming, usage, errors, a server that dies mid-stream, and the
three magics. The model's text is gibberish; the tests look at the protocol (its token counts,
finish reasons, aliases, served model). Skipped when no llama-server binary is there.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from llm_magics import errors as E
from llm_magics.keys.resolve import get_provider
from llm_magics.providers.base import StreamCollector
from tests.interop.conftest import LLAMA_KEY
from tests.interop.servers import Server, free_port, program, start

MSGS = [{"role": "user", "content": "hi"}]
NO_EOS = {"logit_bias": {"4": -100, "2": -100}}  # never <|im_end|> or </s>: runs to max_tokens


def arun(fn: Any, limit_s: float = 60.0) -> Any:
    async def go() -> Any:
        return await asyncio.wait_for(fn(), limit_s)

    return asyncio.run(go())


def compat(server: Server, model: str | None = None, key: str = LLAMA_KEY) -> Any:
    return get_provider("openai-compatible", api_key=key, base_url=server.base_url, model=model, max_retries=0)


def collect(provider: Any, model: str | None = None, **params: Any) -> Any:
    async def go() -> Any:
        try:
            col = StreamCollector(await provider.aresolve_model(model), provider.name)
            async for chunk in provider.stream(MSGS, model=model, **params):
                col.add(chunk)
            return col.result()
        finally:
            await provider.aclose()

    return arun(go)


@pytest.fixture
def env(llama_server: Server, monkeypatch: pytest.MonkeyPatch) -> Server:
    monkeypatch.setenv("OPENAI_COMPATIBLE_BASE_URL", llama_server.base_url)
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", LLAMA_KEY)
    return llama_server


def test_aliases_are_offered_and_checked(llama_server: Server) -> None:
    p = compat(llama_server, "tiny-chat")

    async def go() -> Any:
        try:
            return [(m.id, m.alias_of) for m in await p.list_models()], await p.check()
        finally:
            await p.aclose()

    models, report = arun(go)
    assert models == [("tiny", None), ("tiny-chat", "tiny")]
    assert report.ok and report.default_model_present is True


def test_stream_usage_finish_and_served_model(llama_server: Server) -> None:
    done = collect(compat(llama_server), "tiny-chat", max_tokens=8, **NO_EOS)
    assert (done.model, done.served_model, done.finish_reason) == ("tiny-chat", "tiny", "length")
    assert done.usage is not None and (done.usage.prompt_tokens, done.usage.completion_tokens) == (22, 8)
    assert done.text  # gibberish, but there


def test_complete_keeps_requested_and_served_model(llama_server: Server) -> None:
    p = compat(llama_server, "tiny-chat")

    async def go() -> Any:
        try:
            return await p.complete(MSGS, max_tokens=5, **NO_EOS)
        finally:
            await p.aclose()

    done = arun(go)
    assert (done.model, done.served_model, done.finish_reason) == ("tiny-chat", "tiny", "length")
    assert done.usage is not None and done.usage.completion_tokens == 5


def test_anthropic_messages_endpoint(llama_server: Server) -> None:
    p = get_provider("anthropic", api_key=LLAMA_KEY, base_url=llama_server.root_url, model="tiny", max_retries=0)
    done = collect(p, "tiny", max_tokens=6)
    assert done.finish_reason in ("length", "stop") and done.text
    # llama-server sometimes starts this stream without message_start (seen in 1 of 7 here): then it
    # names no model and no prompt tokens, and the answer is still whole.
    assert done.served_model in ("tiny", None)
    assert done.usage is not None and 1 <= done.usage.completion_tokens <= 6


def test_errors(llama_server: Server) -> None:
    with pytest.raises(E.AuthenticationError, match="Invalid API Key"):
        collect(compat(llama_server, "tiny", key="sk-wrong"))
    with pytest.raises(E.BadRequestError, match="exceeds the available context size"):
        p = compat(llama_server, "tiny")

        async def go() -> Any:
            try:
                return [c async for c in p.stream([{"role": "user", "content": "hello " * 2000}])]
            finally:
                await p.aclose()

        arun(go)


def test_server_dying_mid_stream_keeps_exact_partial_text(tiny_gguf: Path, tmp_path: Path) -> None:
    exe = program("llama-server")
    port = free_port()
    server = start([str(exe), "-m", str(tiny_gguf), "--host", "127.0.0.1", "--port", str(port), "-c", "4096",
                    "-np", "1", "-t", "1"], ready="listening on", log=tmp_path / "llama.log", port=port)
    p = compat(server, "tiny")
    got: list[str] = []

    async def go() -> Any:
        try:
            async for chunk in p.stream(MSGS, max_tokens=3000, **NO_EOS):
                got.append(chunk.text)
                if len(got) == 5:
                    server.proc.kill()  # the server dies mid-answer
        finally:
            await p.aclose()

    try:
        with pytest.raises(E.StreamInterrupted) as info:
            arun(go)
    finally:
        server.stop()
    assert len(got) >= 5 and info.value.partial_text == "".join(got)


def test_discuss_workflow_compare_magics(env: Server, ip: Any) -> None:
    ip.run_cell_magic("discuss", '--personas "Noor, Sasha" --mode parallel --provider openai-compatible '
                                 "--max-tokens 8 --out t", "Ship on Friday?")
    tr = ip.user_ns.pop("t")
    assert tr.status == "done" and tr.model == "tiny"  # the server's first model, no --model needed
    assert [t.finish_reason in ("stop", "length") for t in tr.answers()] == [True, True]

    spec = ("name: interop\ninput: a login form\nmax_tokens: 8\nsteps:\n  - id: review\n    persona: ux\n"
            "    prompt: Review {{ input }}\n  - id: fix\n    persona: Noor\n"
            "    prompt: \"Fix: {{ steps.review.output }}\"\n")
    ip.run_cell_magic("workflow", "--provider openai-compatible --out r", spec)
    assert ip.user_ns.pop("r").ok

    ip.run_cell_magic("compare", "openai-compatible openai-compatible:tiny-chat --max-tokens 8 --out c", "hi")
    rows = ip.user_ns.pop("c").rows
    assert [(r.model, r.ok) for r in rows] == [("tiny", True), ("tiny-chat", True)]
