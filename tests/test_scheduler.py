"""The shared rate-limit scheduler (issue 12 item 5, issue 14 item 8, issue 15 item 9).

Units: the server's words (Moonshot's documented 429 texts, X-RateLimit-* headers in Moonshot,
OpenAI and Anthropic form), Moonshot's tier table, AIMD, the Kimi start. On the wire: a fake
Moonshot that enforces 3 requests per window and 1 concurrent request (the window shrunk from
60 s to keep the test short; client and server use the same one) runs a 6-persona parallel
discussion, and the fake's own request log counts the 429s.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from llm_magics.discussion.api import discuss
from llm_magics.events import Event, Waiting
from llm_magics.keys.resolve import get_provider
from llm_magics.providers.scheduler import (
    PROFILES,
    RECOVER_AFTER,
    Scheduler,
    WaitInfo,
    on_admitted,
    parse_limit_message,
    parse_rate_headers,
    report_waits,
)
from tests._fakelimits import RateGate
from tests.fakeserver import FakeLLMServer

KEY = "sk-sched-test-00000000000000ss"
MODEL = "kimi-k2-0905-preview"
SIX = "Noor, Sasha, Avery, Quinn, Riley, Morgan"
# Moonshot's texts, from its error-code page (and as users have pasted them).
MOONSHOT_RPM = ("Your account org-e664b178<ak-f3t8pfk1> request reached organization max RPM: 3, "
                "please try again after 1 seconds")
MOONSHOT_CONCURRENCY = ("Your account org-e664b178<ak-f3t8pfk1> request reached max organization concurrency: 1, "
                        "please try again after 1 seconds")


# -- what servers say ------------------------------------------------------------------------
def test_limits_are_read_from_429_texts() -> None:
    assert parse_limit_message(MOONSHOT_RPM) == (3, None)
    assert parse_limit_message(MOONSHOT_CONCURRENCY) == (None, 1)
    # The documented word order ("organization max concurrency") as well as the observed one.
    assert parse_limit_message("request reached organization max concurrency: 50, please try again") == (None, 50)
    assert parse_limit_message("Rate limit reached for organization org-x on requests per min (RPM): "
                               "Limit 3000, Used 3000, Requested 1.") == (3000, None)
    assert parse_limit_message("We're receiving too many requests at the moment") == (None, None)
    assert parse_limit_message(None) == (None, None)


def test_rate_limit_headers_in_three_dialects() -> None:
    now = 1_700_000_000.0
    moon = parse_rate_headers({"X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "12"}, now)
    assert moon is not None and (moon.limit, moon.remaining, moon.reset_s) == (3, 0, 12.0)
    assert moon.describe() == "limit 3, remaining 0, resets in 12 s" and not moon.per_minute
    openai = parse_rate_headers({"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499",
                                 "x-ratelimit-reset-requests": "6m0s", "x-ratelimit-limit-tokens": "30000"}, now)
    assert openai is not None and (openai.limit, openai.remaining, openai.reset_s) == (500, 499, 360.0)
    assert openai.per_minute and openai.raw["x-ratelimit-limit-tokens"] == "30000"
    anthropic = parse_rate_headers({"anthropic-ratelimit-requests-limit": "50",
                                    "anthropic-ratelimit-requests-remaining": "49",
                                    "anthropic-ratelimit-requests-reset": "2023-11-14T22:13:30Z"}, now)
    assert anthropic is not None and anthropic.limit == 50 and anthropic.reset_s == pytest.approx(10.0)
    assert parse_rate_headers({"x-ratelimit-reset": "20ms", "x-ratelimit-remaining": "1"}, now).reset_s == 0.02  # type: ignore[union-attr]
    assert parse_rate_headers({"x-ratelimit-reset": f"{now + 30:.0f}", "x-ratelimit-remaining": "1"}, now).reset_s == 30  # type: ignore[union-attr]
    assert parse_rate_headers({"content-type": "application/json"}, now) is None


def test_moonshot_tier_table_gives_concurrency_for_an_announced_rpm() -> None:
    kimi = PROFILES["kimi"]
    # https://platform.moonshot.ai/docs/pricing/limits: Tier0 1/3, Tier1 50/200, Tier2 100/500,
    # Tier3 200/5000, Tier4 400/5000, Tier5 1000/10000 (concurrency/RPM).
    assert [kimi.concurrency_for(r) for r in (3, 200, 500, 5000, 10000)] == [1, 50, 100, 200, 1000]
    assert kimi.concurrency_for(250) == 50 and kimi.concurrency_for(1) == 1
    assert (kimi.concurrency, kimi.rpm) == (1, 3)


# -- the scheduler's own accounting -------------------------------------------------------------
def _take(s: Scheduler, n: int) -> list[Any]:
    permits = [s.try_acquire() for _ in range(n)]
    assert all(p is not None for p in permits)
    return permits


def test_aimd_halves_once_per_round_and_recovers_one_per_n_successes() -> None:
    s = Scheduler("openai", concurrency=8)
    permits = _take(s, 8)
    assert s.try_acquire() is None and s.allowance == 8
    permits[0].release("rate_limited")  # 8 in flight at the 429 → allowance 8 / 2 = 4
    assert s.allowance == 4
    permits[1].release("rate_limited")  # same round of requests: no second halving
    assert s.allowance == 4 and s.rate_limited == 2
    for p in permits[2:7]:  # RECOVER_AFTER (5) successes → +1
        p.release("ok")
    assert RECOVER_AFTER == 5 and s.allowance == 5
    permits[7].release("error")  # neither a success nor a 429
    assert s.allowance == 5 and s.in_flight == 0
    # A new round (started after the halving) may halve again: 5 in flight → 2.
    more = _take(s, 5)
    more[0].release("rate_limited")
    assert s.allowance == 2


def test_kimi_starts_at_tier0_until_the_server_says_more() -> None:
    s = Scheduler("kimi", profile=PROFILES["kimi"])
    assert (s.rpm, s.concurrency) == (3, 1)
    assert s.describe() == ("3 requests/min (the starting limit for kimi until the server announces its own); "
                            "1 at a time (the starting limit for kimi until the server announces its own)")
    first = s.try_acquire()
    assert first is not None and s.try_acquire() is None  # one at a time
    s.observe({"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "199", "X-RateLimit-Reset": "60"}, first)
    assert (s.rpm, s.concurrency) == (200, 50)  # Tier1
    assert "announced by the server" in s.describe() and s.headers is not None and s.headers.limit == 200
    s.learn(MOONSHOT_CONCURRENCY)  # a 429 text is more specific than the tier table
    assert s.concurrency == 1
    s.observe({"X-RateLimit-Limit": "500"}, None)  # a new tier (the account was topped up)
    assert (s.rpm, s.concurrency) == (500, 100)


def test_user_settings_beat_the_default_but_not_the_server() -> None:
    s = Scheduler("kimi", rpm=60, concurrency=4, profile=PROFILES["kimi"])
    assert (s.rpm, s.concurrency) == (60, 4)
    s.learn(MOONSHOT_RPM)  # the server's 3 per minute wins over the user's 60; Tier0 → 1 at a time
    assert (s.rpm, s.concurrency) == (3, 1)
    plain = Scheduler("openai")
    assert (plain.rpm, plain.concurrency, plain.allowance) == (None, None, math.inf)
    plain.observe({"X-RateLimit-Limit": "10"}, None)  # a bare X-RateLimit-Limit may mean per second: not an rpm
    assert plain.rpm is None and plain.headers is not None and plain.headers.limit == 10


def test_remaining_zero_waits_for_the_reset() -> None:
    s = Scheduler("openai")
    p = s.try_acquire()
    s.observe({"x-ratelimit-limit-requests": "2", "x-ratelimit-remaining-requests": "0",
               "x-ratelimit-reset-requests": "30s"}, p)
    assert s.try_acquire() is None  # the window is used up for 30 s


def test_requests_per_window_is_a_sliding_window() -> None:
    s = Scheduler("kimi", profile=PROFILES["kimi"], concurrency=10)  # 3 per window, 10 at a time
    permits = _take(s, 3)
    assert s.try_acquire() is None  # a 4th start within the window would exceed 3
    for p in permits:
        p.release("ok")
    assert s.try_acquire() is None  # finishing does not give starts back


def test_a_start_is_dated_when_the_answer_arrives() -> None:
    """The server counted a request somewhere between our send and its answer: dating it at the
    answer keeps our window from ending before the server's, whatever the network delay."""
    s = Scheduler("openai")
    s.learn(MOONSHOT_RPM.replace("3,", "2,"))  # "max RPM: 2"
    first, second = _take(s, 2)
    assert s.rpm == 2 and s.try_acquire() is None
    sent_at = first.start
    s.observe({}, first)  # its answer arrives (no rate-limit headers needed)
    assert first.start > sent_at and first.start > second.start
    assert s._starts == sorted([second.start, first.start])  # the window holds the new date


def test_a_waiting_caller_is_reported_and_admitted_when_a_slot_frees() -> None:
    s = Scheduler("kimi", concurrency=1)
    seen: list[WaitInfo] = []
    admitted: list[str] = []  # what a provider's latency clock does (complete(), _post_for_model)

    async def go() -> None:
        held = await s.acquire()
        reported = asyncio.Event()

        def note(info: WaitInfo) -> None:
            seen.append(info)
            reported.set()

        async def second() -> None:
            with report_waits(note), on_admitted(lambda: admitted.append("clock restarted")):
                (await s.acquire()).release()

        task = asyncio.ensure_future(second())
        await asyncio.wait_for(reported.wait(), 5)
        assert not task.done()
        held.release()
        await asyncio.wait_for(task, 5)

    asyncio.run(go())
    assert len(seen) == 2 and seen[0].seconds is None and seen[0].reason == "1 at a time (your setting)"
    assert seen[0].describe().startswith("waiting for the rate limit: ") and not seen[0].done
    assert seen[1].done  # admitted: the caller's clocks (TTFT, latency) start here
    assert admitted == ["clock restarted"]  # the inner block got it, and the outer view saw both reports
    assert s.waits == 1 and s.in_flight == 0


# -- on the wire ------------------------------------------------------------------------------
WINDOW = 1.0  # the fake's "minute", shared with the client through the rate_window option


def _kimi(srv: FakeLLMServer, **opts: Any) -> Any:
    return get_provider("kimi", api_key=KEY, base_url=srv.base_url, model=MODEL, rate_window=WINDOW, **opts)


def test_six_personas_at_3_rpm_and_1_concurrent_queue_instead_of_storming(fake_server: FakeLLMServer) -> None:
    fake_server.gate = RateGate(rpm=3, concurrency=1, window_s=WINDOW)
    fake_server.gate.retry_after = "0.2"
    events: list[Event] = []
    tr = discuss("Should we ship on Friday?", SIX, mode="parallel", provider=_kimi(fake_server), history=False,
                 on_event=events.append)
    assert len(tr.messages) == 6 and all(m.ok for m in tr.messages)
    statuses = [r.status for r in fake_server.requests if r.method == "POST"]
    refused = statuses.count(429)
    assert refused <= 1, statuses  # acceptance: no request refused for rate limiting beyond the first
    assert refused == fake_server.gate.refused and fake_server.gate.max_active == 1
    assert statuses.count(200) == 6
    waits = [e for e in events if isinstance(e, Waiting) and e.text]
    ends = [e for e in events if isinstance(e, Waiting) and not e.text]  # "sent now": the wait is over
    assert waits and all(w.text.startswith("waiting for the rate limit") for w in waits)
    assert {w.pane for w in waits} <= {e.pane for e in ends} <= {m.pane for m in tr.messages}


def test_limits_announced_in_429_texts_hold_for_the_rest_of_the_session(fake_server: FakeLLMServer) -> None:
    """A provider with no default and no headers: only the first burst is refused."""
    fake_server.gate = RateGate(concurrency=1, window_s=WINDOW)
    fake_server.gate.retry_after = "0.2"
    fake_server.gate.headers = lambda: {}  # type: ignore[method-assign]  # a server that sends no X-RateLimit
    fake_server.default_pacing = (0.5, 0.0)  # each answer takes 0.5 s: the six first requests meet at the server
    p = get_provider("openai-compatible", api_key=KEY, base_url=fake_server.base_url, model=MODEL,
                     max_retries=3, backoff_base=0.001)

    async def go() -> None:
        await asyncio.gather(*(p.complete([{"role": "user", "content": f"q{i}"}]) for i in range(6)))
        await p.aclose()

    asyncio.run(go())
    statuses = [r.status for r in fake_server.requests]
    assert statuses[:6].count(200) == 1 and statuses[:6].count(429) == 5  # the first burst: 6 at once
    assert statuses[6:] == [200] * 5  # then one at a time, as the 429 text said: no further refusal
    assert p.scheduler.concurrency == 1 and p.scheduler.server_concurrency == 1


def test_user_rpm_and_concurrency_settings_reach_the_scheduler(fake_server: FakeLLMServer) -> None:
    from llm_magics import config

    config.set_session(rpm=7, concurrency=2)
    p = get_provider("kimi", api_key=KEY, base_url=fake_server.base_url)
    assert (p.scheduler.user_rpm, p.scheduler.user_concurrency) == (7, 2)
    status = p.rate_limit_status()
    assert status["rpm"] == 7 and status["concurrency"] == 2 and status["headers"] is None
    asyncio.run(p.complete([{"role": "user", "content": "hi"}], model=MODEL))
    seen = p.rate_limit_status()["headers"]
    assert seen is not None and seen.limit == 10000  # the fake's announced (high) tier
