"""No wait is unbounded (issue 12, item 4): black-hole and trickling servers on 127.0.0.1.

A black hole accepts the request and never answers; a trickling server opens the stream and then
sends only ``: keep-alive`` comments, forever. With short settings every call ends in a typed error
that names the setting to raise. The time bounds asserted here are ceilings far above the settings
(the unbounded versions took minutes, or never ended), not measurements.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

import llm_magics.errors as E
from llm_magics import config
from llm_magics.keys.resolve import get_provider
from llm_magics.providers import http
from tests.fakeserver import FakeLLMServer

KEY = "sk-bounded-test-000000000000bw"
MODEL = "kimi-k2-0905-preview"
MSGS = [{"role": "user", "content": "Say something long"}]


def kimi(srv: FakeLLMServer, **opts: Any) -> Any:
    opts.setdefault("backoff_base", 0.001)
    return get_provider("kimi", api_key=KEY, base_url=srv.base_url, model=MODEL, **opts)


def collect(p: Any) -> list[Any]:
    async def go() -> list[Any]:
        try:
            return [c async for c in p.stream(MSGS)]
        finally:
            await p.aclose()

    return asyncio.run(go())


class Clock:
    """Seconds a `with` block took (for ceilings, never for measurements)."""

    took = 0.0

    def __enter__(self) -> Clock:
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.took = time.monotonic() - self.t0


def test_black_hole_stream_ends_at_the_deadline_without_retrying_past_it(fake_server: FakeLLMServer) -> None:
    fake_server.black_hole = True
    p = kimi(fake_server, read_timeout=30, deadline=1.0, max_retries=2)
    with Clock() as clock, pytest.raises(E.APIConnectionError) as exc:
        collect(p)
    assert clock.took < 10  # unbounded: 3 attempts × 30 s
    text = str(exc.value)
    assert "within the 1 s deadline" in text and "`%llm config deadline=SECONDS` (or LLM_MAGICS_DEADLINE)" in text
    assert len(fake_server.requests) == 1


def test_black_hole_read_timeout_is_one_typed_error_per_attempt(fake_server: FakeLLMServer) -> None:
    fake_server.black_hole = True
    p = kimi(fake_server, read_timeout=0.3, max_retries=1)
    with Clock() as clock, pytest.raises(E.APIConnectionError) as exc:
        collect(p)
    assert clock.took < 10
    assert "no answer for 0.3 s (ReadTimeout)" in str(exc.value)
    assert "`%llm config read_timeout=SECONDS` (or LLM_MAGICS_READ_TIMEOUT)" in str(exc.value)
    assert len(fake_server.requests) == 2  # the first attempt and one retry


def test_keep_alive_comments_are_not_progress(fake_server: FakeLLMServer) -> None:
    fake_server.trickle_s = 0.2  # a comment every 0.2 s, forever
    p = kimi(fake_server, read_timeout=1.0, deadline=600)
    with Clock() as clock, pytest.raises(E.StreamInterrupted) as exc:
        collect(p)
    assert clock.took < 10  # unbounded before: the cell hung forever
    assert "made no progress for 1 s (keep-alive comments only)" in str(exc.value)
    assert "read_timeout=SECONDS" in str(exc.value) and exc.value.partial_text == ""


def test_trickle_is_also_cut_by_the_deadline(fake_server: FakeLLMServer) -> None:
    fake_server.trickle_s = 0.2
    p = kimi(fake_server, read_timeout=60, deadline=1.0)
    with Clock() as clock, pytest.raises(E.StreamInterrupted, match="did not finish within the 1 s deadline"):
        collect(p)
    assert clock.took < 10


def test_deadline_cuts_a_slow_stream_and_keeps_the_text_so_far(fake_server: FakeLLMServer) -> None:
    words = " ".join(f"w{i}" for i in range(200))
    fake_server.responder = lambda req: words
    fake_server.pacing[MODEL] = (0.0, 0.05)  # 200 chunks × 50 ms = 10 s: real progress, but too slow
    p = kimi(fake_server, deadline=1.0, read_timeout=30)
    with Clock() as clock, pytest.raises(E.StreamInterrupted) as exc:
        collect(p)
    assert clock.took < 8
    partial = exc.value.partial_text
    assert partial and words.startswith(partial) and len(partial) < len(words)


def test_a_non_streamed_answer_is_bounded_too(fake_server: FakeLLMServer) -> None:
    fake_server.black_hole = True
    p = kimi(fake_server, deadline=1.0, request_timeout=60, max_retries=0)
    with Clock() as clock, pytest.raises(E.APIConnectionError, match="no complete answer arrived within the 1 s deadline"):
        asyncio.run(p.complete(MSGS))
    assert clock.took < 10


def test_settings_and_environment_reach_every_provider(monkeypatch: pytest.MonkeyPatch, ip: Any) -> None:
    ip.run_line_magic("llm", "config connect_timeout=2.5 read_timeout=7 deadline=90 concurrency=3 rpm=11")
    p = get_provider("kimi", api_key=KEY, base_url="http://127.0.0.1:9/v1")
    assert (p.connect_timeout, p.read_timeout, p.deadline) == (2.5, 7.0, 90.0)
    assert (p.scheduler.user_concurrency, p.scheduler.user_rpm) == (3, 11)
    config.reset_session()
    monkeypatch.setenv("LLM_MAGICS_DEADLINE", "45")
    monkeypatch.setenv("LLM_MAGICS_READ_TIMEOUT", "9")
    monkeypatch.setenv("LLM_MAGICS_CONNECT_TIMEOUT", "4")
    p = get_provider("openai", api_key=KEY, base_url="http://127.0.0.1:9/v1")
    assert (p.connect_timeout, p.read_timeout, p.deadline) == (4.0, 9.0, 45.0)
    monkeypatch.delenv("LLM_MAGICS_DEADLINE")
    assert get_provider("openai", api_key=KEY).deadline == http.DEFAULT_DEADLINE_S == 1800.0


def test_every_hint_names_a_setting_that_exists() -> None:
    """The knobs the errors tell users to raise are real settings with the environment variables named."""
    for name, text in http._KNOBS.items():
        setting = config.SETTINGS[name]
        assert f"`%llm config {name}=" in text and setting.env in text
    assert set(http._KNOBS) | {"rpm", "concurrency"} <= set(config.SETTINGS)
    assert set(config.PROVIDER_OPTIONS) <= set(config.SETTINGS)


def test_llm_check_answers_within_15_s_from_a_black_hole(ip: Any, fake_server: FakeLLMServer,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    fake_server.black_hole = True
    monkeypatch.setenv("KIMI_API_KEY", KEY)
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    t0 = time.monotonic()
    ip.run_line_magic("llm", "check kimi")
    took = time.monotonic() - t0
    out = capsys.readouterr().out
    assert took < 15, took  # unbounded before: 600 s per attempt × 3 attempts
    assert "/v1/models: FAILED" in out and "6 s deadline" in out and "verdict:" in out
    assert len(fake_server.requests) == 1  # one attempt: a diagnosis does not retry


def test_models_refresh_is_a_diagnostic_too(ip: Any, fake_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    fake_server.black_hole = True
    monkeypatch.setenv("KIMI_API_KEY", KEY)
    monkeypatch.setenv("KIMI_BASE_URL", fake_server.base_url)
    monkeypatch.setitem(http.DIAGNOSTIC_OPTIONS, "deadline", 1.0)  # same path, shorter: keeps the test quick
    t0 = time.monotonic()
    ip.run_line_magic("llm", "models kimi --refresh")
    took = time.monotonic() - t0
    out = capsys.readouterr().out
    assert took < 10, took
    assert "built-in" in out or "cache" in out  # the fallback list, saying where it came from
    assert len(fake_server.requests) == 1
