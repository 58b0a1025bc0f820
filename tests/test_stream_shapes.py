"""What a streamed call says when something other than an event stream comes back (issue 12, item 8)."""

from __future__ import annotations

import pytest

from llm_magics import create_provider, run_sync
from llm_magics.errors import ProviderError, StreamInterrupted
from tests.fakeserver import FakeLLMServer

KEY = "sk-shape-test-0123456789"


async def _drain(provider: object) -> str:
    out = []
    async for chunk in provider.stream([{"role": "user", "content": "hi"}], model="kimi-k2.6"):  # type: ignore[attr-defined]
        out.append(chunk.text)
    return "".join(out)


def test_html_page_in_place_of_a_stream_says_a_web_page_came_back(fake_server: FakeLLMServer) -> None:
    fake_server.echo_key_shape = "html_stream"  # 200 text/html "<html><body>Login required. …"
    provider = create_provider("kimi", api_key=KEY, base_url=fake_server.base_url)
    with pytest.raises(ProviderError) as info:
        run_sync(_drain(provider))
    err = info.value
    assert not isinstance(err, StreamInterrupted)
    text = str(err)
    assert "answered with a web page (text/html, HTTP 200) instead of an event stream" in text
    assert "Login required." in text and "empty stream" not in text
    assert err.retryable is False and "base URL" in (err.hint or "")
    assert KEY not in text  # the page quoted the key: masked like every server quote
    generation = [r for r in fake_server.requests if r.path.endswith("/chat/completions")]
    assert len(generation) == 1  # not retried: the same page would come back
