"""A server that echoes the caller's API key, in every error shape, never gets it into our output
(issue 12, item 2).

`tests._fakelimits.ECHO_SHAPES` covers every way an error comes back: JSON error bodies (key in the
message, in the type, FastAPI's `detail`), 429/404, plain-text and HTML error pages, a non-JSON
200, a malformed stream event, an error event mid-stream, HTML or a JSON error in place of a
stream. Each one is sent to the Kimi (OpenAI wire format) and Anthropic providers, streamed, not
streamed and on /v1/models, and then through the magics. The key must appear in no exception text
(message, hint, type, args, chained causes, the formatted traceback), no magic output, no
history row and no log record. Where the server's text is quoted, the masked key must appear
instead: proof that the echo arrived and went through the one redaction function.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
import warnings
from pathlib import Path
from typing import Any

import pytest
from IPython.core.displaypub import CapturingDisplayPublisher

from llm_magics.errors import LLMError
from llm_magics.keys.resolve import get_provider
from llm_magics.providers.base import mask_key
from llm_magics.providers.http import quote_server
from tests._fakelimits import ECHO_SHAPES
from tests.fakeserver import FakeLLMServer

KEY = "sk-echo-test-SECRET-0000000000ee"
MASKED = mask_key(KEY)
MSGS = [{"role": "user", "content": "hello"}]
#: Shapes whose error message quotes the server's text (the masked key must show there).
QUOTED = {"json_message", "json_type", "fastapi_detail", "rate_limited", "text_body", "html_page",
          "non_json_200", "bad_event", "stream_error", "json_instead_of_stream"}


def error_texts(exc: BaseException) -> str:
    """Everything an exception can show: str/repr/args/fields of it and its causes, and its traceback."""
    out: list[str] = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        out += [str(e), repr(e), *(str(a) for a in e.args)]
        out += [v for a in ("message", "hint", "error_type", "partial_text", "partial_reasoning")
                if isinstance(v := getattr(e, a, None), str)]
        e = e.__cause__ or e.__context__
    return "\n".join(out)


def calls(srv: FakeLLMServer) -> dict[str, Any]:
    kimi = get_provider("kimi", api_key=KEY, base_url=srv.base_url, model="kimi-k2-0905-preview", backoff_base=0.001)
    claude = get_provider("anthropic", api_key=KEY, base_url=srv.root_url, model="claude-sonnet-4-5",
                          backoff_base=0.001)

    async def stream(p: Any) -> None:
        async for _ in p.stream(MSGS):
            pass

    return {
        "kimi stream": lambda: stream(kimi), "kimi complete": lambda: kimi.complete(MSGS),
        "kimi models": kimi.list_models, "anthropic stream": lambda: stream(claude),
        "anthropic complete": lambda: claude.complete(MSGS), "anthropic models": claude.list_models,
    }


def test_quote_masks_before_cutting() -> None:
    text = "x" * 295 + KEY + "y" * 20
    cut = quote_server(text, KEY, MASKED, limit=300)
    # Cutting first would keep "sk-ec", the key's start; masking first keeps "sk-…0" of the mask.
    assert cut == "x" * 295 + MASKED[:5] + "…" and KEY[:5] not in cut
    assert quote_server(f"echo {KEY}".encode(), KEY, MASKED) == f"echo {MASKED}"


@pytest.mark.parametrize("shape", ECHO_SHAPES)
def test_no_error_shape_leaks_the_key_from_a_provider(fake_server: FakeLLMServer, shape: str,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    fake_server.echo_key_shape = shape
    caplog.set_level(logging.DEBUG)
    raised: dict[str, str] = {}
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        for name, call in calls(fake_server).items():
            try:
                asyncio.run(call())
            except LLMError as exc:
                raised[name] = error_texts(exc)
    assert fake_server.requests and all(KEY in (r.headers.get("authorization", "") + r.headers.get("x-api-key", ""))
                                        for r in fake_server.requests)  # the server had the key to echo
    for name, text in raised.items():
        assert KEY not in text, f"{shape}: {name} leaked the key"
    assert KEY not in caplog.text and not any(KEY in str(w.message) for w in warned)
    generation = [t for n, t in raised.items() if "models" not in n]
    assert len(generation) == 4, sorted(raised)  # every generation call failed, with a typed error
    if shape in QUOTED:
        assert any(MASKED in t for t in generation), f"{shape}: the echo never reached a message"


@pytest.fixture
def shell() -> Any:
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "llm_magics")
    real = sh.display_pub
    sh.display_pub = CapturingDisplayPublisher()
    yield sh
    sh.display_pub = real
    sh.user_ns.pop("echo_t", None)


def test_magics_output_history_and_logs_never_show_the_key(shell: Any, fake_server: FakeLLMServer,
                                                          monkeypatch: pytest.MonkeyPatch, isolated_home: Path,
                                                          capsys: pytest.CaptureFixture[str],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("KIMI_API_KEY", KEY)
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("LLM_MAGICS_KIMI_REGIONS", fake_server.base_url)
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    for shape in ECHO_SHAPES:
        fake_server.echo_key_shape = shape
        for run in (
            lambda: shell.run_cell_magic("discuss", "-p Noor --provider kimi --out echo_t", "Topic"),
            lambda: shell.run_line_magic("llm", "check kimi"),
            lambda: shell.run_line_magic("llm", "models kimi --refresh"),
        ):
            try:
                run()
            except Exception as exc:  # noqa: BLE001 - a magic may end in a one-line error: check its text too
                shown.append(error_texts(exc))
        tr = shell.user_ns.get("echo_t")
        shown.append(repr(tr) + (tr.to_markdown() if tr is not None else ""))
    captured = capsys.readouterr()
    shown += [captured.out, captured.err, caplog.text]
    shown += [str(data) for out in shell.display_pub.outputs for data in out["data"].values()]
    everything = "\n".join(shown)
    assert "Topic" in everything and MASKED in everything  # the runs happened and the echo was shown masked
    assert KEY not in everything
    stored = b"".join(p.read_bytes() for p in isolated_home.rglob("*") if p.is_file())
    assert stored and KEY.encode() not in stored  # history.db (+ WAL), key store, model cache
