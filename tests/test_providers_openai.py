"""OpenAI and OpenAI-compatible providers over real sockets, plus the shared scheduler's rpm pacing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from llm_magics.keys.resolve import get_provider
from llm_magics.providers.scheduler import Scheduler, scheduler_for
from tests.fakeserver import FakeLLMServer

KEY = "sk-openai-test-0000000000zz"
MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour"}]


def run(coro_fn: Any) -> Any:
    return asyncio.run(coro_fn())


def test_openai_streams_with_include_usage(fake_server: FakeLLMServer) -> None:
    p = get_provider("openai", api_key=KEY, base_url=fake_server.base_url, model="gpt-4o-mini")

    async def go() -> Any:
        chunks = [c async for c in p.stream(MSGS)]
        done = await p.complete(MSGS)
        models = await p.list_models()
        await p.aclose()
        return chunks, done, models

    chunks, done, models = run(go)
    sent = fake_server.requests[0].json
    assert sent["stream_options"] == {"include_usage": True}
    assert "reasoning" not in str(sent["messages"])
    text = "".join(c.text for c in chunks)
    assert text == done.text == "Echo from gpt-4o-mini [system: Be brief.]: Name a colour"
    assert chunks[-1].finish_reason == "stop" and chunks[-1].usage and chunks[-1].usage.prompt_tokens == 5
    assert done.provider == "openai" and done.latency_s is not None
    assert [m.id for m in models] == fake_server.models and models[0].provider == "openai"


def test_openai_drops_reasoning_key_from_history(fake_server: FakeLLMServer) -> None:
    p = get_provider("openai", api_key=KEY, base_url=fake_server.base_url, model="gpt-4o")
    history = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "reasoning": "r"},
               {"role": "user", "content": "c"}]
    run(lambda: p.complete(history))
    assert fake_server.requests[0].json["messages"][1] == {"role": "assistant", "content": "b"}


def test_check_reports_reachability_and_missing_default(fake_server: FakeLLMServer) -> None:
    ok = run(get_provider("kimi", api_key=KEY, base_url=fake_server.base_url).check)
    assert ok.ok and ok.models_reachable and ok.default_model_present and ok.key_masked == "sk-…00zz"
    bad = run(get_provider("kimi", api_key=KEY, base_url=fake_server.base_url, model="kimi-k2-0905").check)
    assert not bad.ok and "kimi-k2-0905-preview" in bad.suggestions
    fake_server.valid_keys = set()
    refused = run(get_provider("kimi", api_key=KEY, base_url=fake_server.base_url).check)
    assert not refused.ok and refused.error and "refused" in refused.error and KEY not in refused.error


def test_compatible_without_key_or_model_uses_first_served_model(fake_server: FakeLLMServer) -> None:
    fake_server.models = ["local-llama", "other"]
    p = get_provider("openai-compatible", base_url=fake_server.base_url)
    assert p.key is None

    async def go() -> Any:
        chunks = [c async for c in p.stream(MSGS)]
        done = await p.complete(MSGS)
        await p.aclose()
        return chunks, done

    chunks, done = run(go)
    assert "".join(c.text for c in chunks).startswith("Echo from local-llama")
    assert done.model == "local-llama"
    assert all("authorization" not in r.headers for r in fake_server.requests)
    assert [r.path for r in fake_server.requests].count("/v1/models") == 1  # cached


def test_compatible_retries_once_without_stream_options(fake_server: FakeLLMServer) -> None:
    fake_server.fail_next(400, "invalid_request_error", "Unrecognized request argument supplied: stream_options")
    p = get_provider("openai-compatible", base_url=fake_server.base_url, model="gpt-4o-mini")

    async def go() -> Any:
        chunks = [c async for c in p.stream(MSGS)]
        again = [c async for c in p.stream(MSGS)]
        await p.aclose()
        return chunks, again

    chunks, again = run(go)
    sent = [r.json for r in fake_server.requests]
    assert "stream_options" in sent[0] and "stream_options" not in sent[1] and "stream_options" not in sent[2]
    assert chunks[-1].usage is not None and again[-1].finish_reason == "stop"


def test_transport_option_for_unit_tests() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        return httpx.Response(200, json={"object": "list", "data": [{"id": "m1"}, {"id": "m2"}]})

    p = get_provider("openai", api_key=KEY, base_url="http://unit.test/v1", transport=httpx.MockTransport(handler))
    assert [m.id for m in run(p.list_models)] == ["m1", "m2"]


def test_one_client_per_event_loop(fake_server: FakeLLMServer) -> None:
    from llm_magics import run_sync

    p = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url)
    run_sync(p.complete(MSGS))  # the session's private loop
    run(lambda: p.complete(MSGS))  # a fresh loop: must not reuse the other loop's client
    run_sync(p.complete(MSGS))
    assert [r.status for r in fake_server.requests] == [200, 200, 200]


# -- rate limiting (the shared scheduler; more in tests/test_scheduler.py) ---------------------
def test_scheduler_is_shared_per_provider_url_and_key(fake_server: FakeLLMServer) -> None:
    a = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url, rpm=60)
    b = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url)
    c = get_provider("kimi", api_key=KEY + "x", base_url=fake_server.base_url)
    assert a.scheduler is b.scheduler and a.scheduler is not c.scheduler and a.scheduler.rpm == 60
    assert KEY not in repr(scheduler_for.__globals__["_schedulers"])


def test_rpm_spaces_concurrent_requests(fake_server: FakeLLMServer) -> None:
    rpm = 1200  # one start every 50 ms
    interval = 60 / rpm
    p = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url, rpm=rpm)

    async def go() -> None:
        await asyncio.gather(*(p.complete(MSGS) for _ in range(6)))
        await p.aclose()

    run(go)
    granted = p.scheduler.granted
    assert len(granted) == 6  # this test's server URL: nobody else shares the scheduler
    gaps = [b - a for a, b in zip(granted, granted[1:])]
    assert all(g >= interval - 1e-9 for g in gaps)  # the scheduler's own accounting
    starts = sorted(r.started_at for r in fake_server.requests)
    assert len(starts) == 6 and starts[-1] - starts[0] >= 4 * interval  # loose check on the wire


def test_429_with_wait_pauses_everyone_sharing_the_key(fake_server: FakeLLMServer) -> None:
    fake_server.fail_next(429, "rate_limit_reached_error", headers={"retry-after-ms": "200"})
    p = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url, backoff_base=0.001)
    other = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url)

    async def go() -> None:
        first = asyncio.create_task(p.complete(MSGS))
        while not fake_server.requests or fake_server.requests[0].ended_at is None:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.02)
        await other.complete(MSGS)  # started during the pause: must wait for it
        await first
        await p.aclose()
        await other.aclose()

    run(go)
    reqs = fake_server.requests
    assert [r.status for r in reqs] == [429, 200, 200]
    assert reqs[0].ended_at is not None
    assert min(r.started_at for r in reqs[1:]) - reqs[0].ended_at >= 0.19


def test_scheduler_spacing_and_pause_unit() -> None:
    sched = Scheduler("openai", rpm=600)  # one start every 0.1 s
    first = sched.try_acquire()
    assert first is not None and sched.try_acquire() is None  # the next start is 0.1 s away
    free = Scheduler("openai")
    assert free.try_acquire() is not None
    free.pause(0.5)
    assert free.try_acquire() is None
