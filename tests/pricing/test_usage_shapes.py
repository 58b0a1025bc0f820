"""Every usage shape the providers send, over real sockets to the fake server, priced to the cent.

Fake-server token counts: prompt_tokens = words in all messages; completion_tokens = streamed
chunks (one word each). MSGS below has 3 + 4 = 7 prompt words.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from llm_magics.keys.resolve import get_provider
from llm_magics.providers.base import Completion, Cost
from tests.fakeserver import FakeLLMServer

KEY = "sk-test-usage-0000abcd"
MSGS = [{"role": "system", "content": "You are Noor."}, {"role": "user", "content": "Audit the reset flow"}]
PROMPT = 7  # words in MSGS: "You are Noor." + "Audit the reset flow"


def run(provider: Any, *, stream: bool) -> Completion:
    async def go() -> Completion:
        try:
            if stream:
                from llm_magics.providers.base import StreamCollector

                col = StreamCollector(provider.default_model, provider.name, provider.pricer)
                async for chunk in provider.stream(MSGS):
                    col.add(chunk)
                return col.result()
            return await provider.complete(MSGS)
        finally:
            await provider.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize(
    ("style", "extra"),
    [
        ("moonshot", {"cached_tokens": 4}),  # Moonshot: top level, inside choices[0].usage when streaming
        ("moonshot", {"prompt_tokens_details": {"cached_tokens": 4}}),
        ("openai", {"prompt_tokens_details": {"cached_tokens": 4}}),
    ],
)
def test_kimi_cached_tokens_every_shape(fake_server: FakeLLMServer, stream: bool, style: str,
                                        extra: dict[str, Any]) -> None:
    fake_server.usage_style = style
    fake_server.usage_extra = extra
    p = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url, model="kimi-k2.6")
    done = run(p, stream=stream)
    assert done.usage is not None and done.usage.prompt_tokens == PROMPT and done.usage.cached_tokens == 4
    out = done.usage.completion_tokens
    # kimi-k2.6: 3 uncached × $0.95 + 4 cached × $0.16 + out × $4.00, per million tokens
    expected = (3 * 0.95 + 4 * 0.16 + out * 4.00) / 1_000_000
    assert done.cost == Cost(pytest.approx(expected), "USD", True)


@pytest.mark.parametrize("stream", [True, False])
def test_openai_cached_and_reasoning_tokens(fake_server: FakeLLMServer, stream: bool) -> None:
    fake_server.usage_style = "openai"
    fake_server.usage_extra = {"prompt_tokens_details": {"cached_tokens": 2},
                               "completion_tokens_details": {"reasoning_tokens": 3}}
    p = get_provider("openai", api_key=KEY, base_url=fake_server.base_url, model="gpt-4o-mini")
    done = run(p, stream=stream)
    assert done.usage is not None
    assert (done.usage.cached_tokens, done.usage.reasoning_tokens) == (2, 3)
    out = done.usage.completion_tokens
    # gpt-4o-mini: 5 uncached × $0.15 + 2 cached × $0.075 + out × $0.60 (reasoning tokens are inside `out`)
    assert done.cost.amount == pytest.approx((5 * 0.15 + 2 * 0.075 + out * 0.60) / 1_000_000)


@pytest.mark.parametrize("stream", [True, False])
def test_anthropic_cache_read_and_write(fake_server: FakeLLMServer, stream: bool) -> None:
    fake_server.usage_extra = {"cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}
    p = get_provider("anthropic", api_key=KEY, base_url=fake_server.root_url, model="claude-haiku-4-5")
    done = run(p, stream=stream)
    u = done.usage
    assert u is not None
    # input_tokens (7 words: the fake counts `system` too) excludes cache reads and writes;
    # prompt_tokens includes both.
    assert (u.cached_tokens, u.cache_write_tokens) == (100, 20)
    uncached = u.prompt_tokens - 120
    # claude-haiku-4-5: uncached × $1 + 100 × $0.10 + 20 × $1.25 + out × $5, per million
    expected = (uncached * 1.00 + 100 * 0.10 + 20 * 1.25 + u.completion_tokens * 5.00) / 1_000_000
    assert done.cost.amount == pytest.approx(expected)
    assert uncached == PROMPT


def test_user_price_file_overrides_what_a_call_costs(fake_server: FakeLLMServer) -> None:
    from llm_magics.pricing.catalog import user_prices_path

    user_prices_path().write_text(
        "kimi:\n  kimi-k2.6: {input: 10.00, cached_input: 1.00, output: 100.00, currency: USD}\n", encoding="utf-8")
    fake_server.usage_extra = {"cached_tokens": 4}
    p = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url, model="kimi-k2.6")
    done = run(p, stream=True)
    out = done.usage.completion_tokens if done.usage else 0
    assert done.cost.amount == pytest.approx((3 * 10.00 + 4 * 1.00 + out * 100.00) / 1_000_000)


def test_china_host_prices_in_cny(fake_server: FakeLLMServer) -> None:
    # The provider's base URL decides the section: a .cn host bills in CNY (here faked by passing the
    # China URL to the pricer the way get_provider does for api.moonshot.cn).
    from llm_magics.pricing.cost import pricer_for
    from llm_magics.providers.base import Usage

    price = pricer_for("kimi", "https://api.moonshot.cn/v1")
    cost = price("kimi-k2.5", Usage(1_000_000, 0, 1_000_000, cached_tokens=1_000_000))
    assert cost == Cost(pytest.approx(0.70), "CNY", True)  # ¥0.70 per million cache-hit tokens
