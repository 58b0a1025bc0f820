"""Every Moonshot and Anthropic error type → its typed error and message; the retry policy as
seen by the server (request counts and order); Retry-After; connection failures; key hygiene."""

from __future__ import annotations

import asyncio
import traceback
from typing import Any

import pytest

from llm_magics import errors as E
from llm_magics.keys.resolve import get_provider
from llm_magics.providers.retry import RetryPolicy, parse_retry_after
from tests.fakeserver import FakeLLMServer

KEY = "sk-errors-test-SECRET-9999wxyz"
MSGS = [{"role": "user", "content": "hello"}]


def run(provider: Any, stream: bool = True) -> Any:
    async def go() -> Any:
        try:
            if stream:
                return [c async for c in provider.stream(MSGS)]
            return await provider.complete(MSGS)
        finally:
            await provider.aclose()

    return asyncio.run(go())


def kimi(srv: FakeLLMServer, **opts: Any) -> Any:
    opts.setdefault("backoff_base", 0.001)
    opts.setdefault("backoff_cap", 0.01)
    return get_provider("kimi", api_key=KEY, base_url=srv.base_url, **opts)


def anthropic(srv: FakeLLMServer, **opts: Any) -> Any:
    opts.setdefault("backoff_base", 0.001)
    opts.setdefault("backoff_cap", 0.01)
    return get_provider("anthropic", api_key=KEY, base_url=srv.root_url, model="claude-haiku-4-5", **opts)


def gen_requests(srv: FakeLLMServer) -> list[Any]:
    return [r for r in srv.requests if r.method == "POST"]


MOONSHOT = [
    # status, type, error class, retried, words the message must contain
    (400, "invalid_request_error", E.BadRequestError, False, "rejected the request"),
    (400, "content_filter", E.ContentFilterError, False, "content filter"),
    (401, "invalid_authentication_error", E.AuthenticationError, False, "refused"),
    (403, "permission_denied_error", E.AuthenticationError, False, "refused the API key"),
    (403, "exceeded_current_quota_error", E.QuotaExceededError, False, "out of credit"),
    (404, "resource_not_found_error", E.ModelNotFoundError, False, "was not found"),
    (429, "rate_limit_reached_error", E.RateLimitError, True, "Rate limit"),
    (429, "engine_overloaded_error", E.OverloadedError, True, "overloaded"),
    (429, "exceeded_current_quota_error", E.QuotaExceededError, False, "out of credit"),
    (500, "server_error", E.ProviderError, True, "failed (HTTP 500)"),
    (504, "gateway_timeout", E.ProviderError, True, "timed out at the gateway"),
]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "complete"])
@pytest.mark.parametrize(("status", "etype", "cls", "retried", "words"), MOONSHOT, ids=[f"{m[0]}-{m[1]}" for m in MOONSHOT])
def test_moonshot_errors(fake_server: FakeLLMServer, status: int, etype: str, cls: type, retried: bool,
                         words: str, stream: bool) -> None:
    fake_server.fail_next(status, etype, times=10)
    with pytest.raises(cls) as exc:
        run(kimi(fake_server), stream)
    err = exc.value
    assert type(err) is cls if cls is not E.ProviderError else isinstance(err, E.ProviderError)
    assert err.status == status and err.error_type == etype
    assert words in str(err) and err.hint and "→" in str(err)
    assert KEY not in str(err)
    assert len(gen_requests(fake_server)) == (3 if retried else 1)  # default max_retries=2


def test_retry_then_success_is_invisible_to_the_caller(fake_server: FakeLLMServer) -> None:
    fake_server.fail_next(500, "server_error", times=1)
    fake_server.fail_next(429, "engine_overloaded_error", times=1)
    chunks = run(kimi(fake_server))
    assert "".join(c.text for c in chunks).startswith("Echo from")
    statuses = [r.status for r in gen_requests(fake_server)]
    assert statuses == [500, 429, 200]
    reqs = gen_requests(fake_server)
    assert all(a.ended_at is not None and a.ended_at <= b.started_at for a, b in zip(reqs, reqs[1:]))


def test_max_retries_option(fake_server: FakeLLMServer) -> None:
    fake_server.fail_next(503, "server_error", times=10)
    with pytest.raises(E.ProviderError):
        run(kimi(fake_server, max_retries=4))
    assert len(gen_requests(fake_server)) == 5
    fake_server.reset()
    fake_server.fail_next(503, "server_error", times=10)
    with pytest.raises(E.ProviderError):
        run(kimi(fake_server, max_retries=0))
    assert len(gen_requests(fake_server)) == 1


@pytest.mark.parametrize("headers,message,floor", [
    ({"retry-after-ms": "150"}, "", 0.15),
    ({"Retry-After": "0.2"}, "", 0.2),
    ({}, "Your account reached max RPM: 3, please try again after 0.2 seconds", 0.2),
])
def test_server_wait_is_honoured(fake_server: FakeLLMServer, headers: dict[str, str], message: str, floor: float) -> None:
    fake_server.fail_next(429, "rate_limit_reached_error", message, headers=headers)
    run(kimi(fake_server))
    first, second = gen_requests(fake_server)
    assert first.status == 429 and second.status == 200
    assert first.ended_at is not None and second.started_at - first.ended_at >= floor * 0.95


def test_too_long_server_wait_is_not_retried(fake_server: FakeLLMServer) -> None:
    fake_server.fail_next(429, "rate_limit_reached_error", "please try again after 3600 seconds")
    with pytest.raises(E.RateLimitError) as exc:
        run(kimi(fake_server))
    assert exc.value.retry_after == 3600 and len(gen_requests(fake_server)) == 1


def test_connection_dropped_before_first_byte_is_retried(fake_server: FakeLLMServer) -> None:
    fake_server.drop_next(2)
    chunks = run(kimi(fake_server))
    assert chunks[-1].finish_reason == "stop" and len(gen_requests(fake_server)) == 3
    fake_server.reset()
    fake_server.drop_next(5)
    with pytest.raises(E.APIConnectionError, match="before any answer"):
        run(kimi(fake_server), stream=False)
    assert len(gen_requests(fake_server)) == 3


def test_unreachable_host_is_a_connection_error() -> None:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p = get_provider("kimi", api_key=KEY, base_url=f"http://127.0.0.1:{port}/v1", backoff_base=0.001, max_retries=1)
    with pytest.raises(E.APIConnectionError) as exc:
        run(p)
    assert f"127.0.0.1:{port}" in str(exc.value) and exc.value.hint


def test_key_never_in_errors_or_tracebacks(fake_server: FakeLLMServer) -> None:
    fake_server.valid_keys = {"sk-right"}
    p = kimi(fake_server)
    assert KEY not in repr(p)
    try:
        run(p)
    except E.AuthenticationError as exc:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        assert KEY not in text and KEY not in repr(exc.__dict__)
    else:
        pytest.fail("no error")


@pytest.mark.parametrize("status,etype", [(401, "invalid_authentication_error"), (400, "invalid_request_error")])
def test_key_echoed_by_the_server_is_masked(fake_server: FakeLLMServer, status: int, etype: str) -> None:
    # Some servers echo the key they refused; it must not reach the message, the hint or args.
    fake_server.fail_next(status, etype, message=f"Incorrect API key provided: {KEY}.")
    with pytest.raises(E.LLMError) as info:
        run(kimi(fake_server))
    exc = info.value
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    assert KEY not in text and KEY not in repr(exc.args) and KEY not in exc.message
    assert "sk-…wxyz" in str(exc)


ANTHROPIC = [
    (401, "authentication_error", E.AuthenticationError, False),
    (403, "permission_error", E.AuthenticationError, False),
    (404, "not_found_error", E.ModelNotFoundError, False),
    (429, "rate_limit_error", E.RateLimitError, True),
    (529, "overloaded_error", E.OverloadedError, True),
    (500, "api_error", E.ProviderError, True),
    (400, "invalid_request_error", E.BadRequestError, False),
]


@pytest.mark.parametrize(("status", "etype", "cls", "retried"), ANTHROPIC, ids=[a[1] for a in ANTHROPIC])
def test_anthropic_errors(fake_server: FakeLLMServer, status: int, etype: str, cls: type, retried: bool) -> None:
    fake_server.fail_next(status, etype, times=10)
    with pytest.raises(cls) as exc:
        run(anthropic(fake_server))
    assert exc.value.error_type == etype and exc.value.status == status and exc.value.hint
    assert len(gen_requests(fake_server)) == (3 if retried else 1)


def test_anthropic_low_credit_is_a_quota_error(fake_server: FakeLLMServer) -> None:
    fake_server.fail_next(400, "invalid_request_error", "Your credit balance is too low to access the Anthropic API.")
    with pytest.raises(E.QuotaExceededError):
        run(anthropic(fake_server), stream=False)
    assert len(gen_requests(fake_server)) == 1


def test_anthropic_error_event_mid_stream(fake_server: FakeLLMServer) -> None:
    fake_server.fail_next(529, "overloaded_error", after_chunks=3)
    with pytest.raises(E.OverloadedError) as exc:
        run(anthropic(fake_server))
    assert getattr(exc.value, "partial_text") == "Echo from claude-haiku-4-5: "
    assert len(gen_requests(fake_server)) == 1


def test_retry_policy_and_retry_after_parsing() -> None:
    import random

    policy = RetryPolicy(max_retries=2, base=0.5, cap=8.0)
    rng = random.Random(1)
    for attempt in range(8):
        ceiling = min(8.0, 0.5 * 2 ** attempt)  # 0.5, 1, 2, 4, 8, 8, 8, 8
        draws = [policy.delay(attempt, rng=rng) for _ in range(50)]
        assert all(0 <= d <= ceiling for d in draws)
        # both sides: the draws spread over the whole range (seeded rng, so this is deterministic)
        assert min(draws) < 0.2 * ceiling and max(draws) > 0.8 * ceiling
    assert policy.delay(0, retry_after=3.0, rng=rng) >= 3.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "7"}) == 7
    assert parse_retry_after(None, "please try again after 20 seconds") == 20
    assert parse_retry_after(None, "Please retry in 1.5s") == 1.5
    assert parse_retry_after({}, "nothing here") is None


@pytest.mark.parametrize("name", ["kimi", "openai", "anthropic"])
def test_missing_key_fails_before_any_request(fake_server: FakeLLMServer, name: str) -> None:
    p = get_provider(name, base_url=fake_server.base_url, model="m")
    with pytest.raises(E.ConfigurationError, match=f"%llm keys add {name}"):
        run(p)
    assert fake_server.requests == []  # nothing was sent without a key
    report = asyncio.run(p.check())
    assert not report.ok and report.error and "No API key" in report.error
