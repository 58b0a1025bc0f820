"""What the scheduler reads from servers, as literal tables: Moonshot's published tiers, rate-limit
headers in every form servers send (deltas, durations, epochs, dates), the limits written in 429
texts, and how a wait is described. (The scheduler's timing behaviour is tests/test_scheduler.py.)
"""

from __future__ import annotations

import pytest

from llm_magics.providers.scheduler import (
    PROFILES,
    RateHeaders,
    WaitInfo,
    parse_limit_message,
    parse_rate_headers,
)

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


def test_kimi_profile_is_moonshots_published_tier_table() -> None:
    # https://platform.moonshot.ai/docs/pricing/limits: Tier0 1 concurrent / 3 RPM, Tier1 50 / 200,
    # Tier2 100 / 500, Tier3 200 / 5,000, Tier4 400 / 5,000, Tier5 1,000 / 10,000
    kimi = PROFILES["kimi"]
    assert (kimi.concurrency, kimi.rpm, kimi.limit_header_is_rpm) == (1, 3, True)
    assert kimi.tiers == ((3, 1), (200, 50), (500, 100), (5000, 200), (5000, 400), (10000, 1000))
    by_rpm = {3: 1, 200: 50, 499: 50, 500: 100, 5000: 200, 9999: 200, 10000: 1000, 20000: 1000, 2: 1}
    assert {rpm: kimi.concurrency_for(rpm) for rpm in by_rpm} == by_rpm  # 5,000: the lower of two tiers


def test_wait_descriptions() -> None:
    assert WaitInfo("kimi", "3 requests per minute", None).describe() == "waiting for the rate limit: 3 requests per minute"
    assert WaitInfo("kimi", "r", 0.5).describe() == "waiting for the rate limit: r"  # under a second: no ETA
    assert WaitInfo("kimi", "r", 1.0).describe() == "waiting for the rate limit: r (~1 s)"
    assert WaitInfo("kimi", "r", 12.4).describe() == "waiting for the rate limit: r (~12 s)"


def test_rate_header_descriptions() -> None:
    assert RateHeaders(200, 5, 12.2, NOW, per_minute=True).describe() == "limit 200/min, remaining 5, resets in 12 s"
    assert RateHeaders(200, None, None, NOW).describe() == "limit 200"
    assert RateHeaders(None, None, None, NOW, {"x-ratelimit-foo": "1"}).describe() == "x-ratelimit-foo: 1"


RESETS: list[tuple[str, float | None]] = [
    ("12", 12.0),
    ("1.5", 1.5),
    ("-3", 0.0),
    ("1.5s", 1.5),
    ("20ms", 0.02),
    ("6m0s", 360.0),
    ("1h2m3s", 3723.0),
    ("1700000030", 30.0),           # epoch seconds
    ("1699999000", 0.0),            # an epoch in the past
    ("1700000030000", 30.0),        # epoch milliseconds
    ("1699999000000", 0.0),
    ("2023-11-14T22:13:50Z", 30.0),  # ISO 8601
    ("2023-11-14T22:00:00+00:00", 0.0),
    ("Tue, 14 Nov 2023 22:13:50 GMT", 30.0),  # HTTP date
    ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),
    ("soon", None),
    ("", None),
]


@pytest.mark.parametrize(("reset", "seconds"), RESETS)
def test_reset_header_forms(reset: str, seconds: float | None) -> None:
    h = parse_rate_headers({"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "5", "X-RateLimit-Reset": reset},
                           now=NOW)
    assert h is not None
    assert h.reset_s == (pytest.approx(seconds) if seconds is not None else None)


def test_which_header_names_count_per_minute() -> None:
    openai = parse_rate_headers({"x-ratelimit-limit-requests": "3000", "x-ratelimit-remaining-requests": "2999",
                                 "x-ratelimit-reset-requests": "20ms"}, now=NOW)
    assert openai == RateHeaders(3000, 2999, pytest.approx(0.02), NOW, {
        "x-ratelimit-limit-requests": "3000", "x-ratelimit-remaining-requests": "2999",
        "x-ratelimit-reset-requests": "20ms"}, True)
    anthropic = parse_rate_headers({"anthropic-ratelimit-requests-limit": "50",
                                    "anthropic-ratelimit-requests-remaining": "49.0"}, now=NOW)
    assert anthropic is not None and (anthropic.limit, anthropic.remaining, anthropic.per_minute) == (50, 49, True)
    plain = parse_rate_headers({"x-ratelimit-limit": "200", "x-ratelimit-remaining": "many"}, now=NOW)
    assert plain is not None and (plain.limit, plain.remaining, plain.per_minute) == (200, None, False)
    tokens_only = parse_rate_headers({"x-ratelimit-limit-tokens": "1000"}, now=NOW)
    assert tokens_only == RateHeaders(None, None, None, NOW, {"x-ratelimit-limit-tokens": "1000"})
    assert parse_rate_headers({"content-type": "text/plain"}, now=NOW) is None
    assert parse_rate_headers(None) is None and parse_rate_headers({}) is None


def test_limits_written_in_429_texts() -> None:
    assert parse_limit_message("request reached organization max RPM: 3, please try again after 1 seconds") == (3, None)
    assert parse_limit_message("request reached max organization concurrency: 1") == (None, 1)
    assert parse_limit_message("max RPM: 200 and max concurrency: 50") == (200, 50)
    assert parse_limit_message("Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): "
                               "Limit 3000, Used 3000, Requested 1.") == (3000, None)
    assert parse_limit_message("max RPM: 0") == (None, None)  # zero is no limit anyone can use
    assert parse_limit_message("slow down") == (None, None)
    assert parse_limit_message(None) == (None, None) and parse_limit_message("") == (None, None)


def test_latest_configuration_wins_for_everyone_sharing_the_key() -> None:
    import uuid

    from llm_magics.providers.scheduler import scheduler_for

    url = f"http://{uuid.uuid4().hex}.test/v1"  # a scheduler of its own in this process
    a = scheduler_for("openai", url + "/", "sk-1", rpm=60, concurrency=4, window_s=10)
    assert (a.rpm, a.concurrency, a.window_s) == (60, 4, 10.0)
    b = scheduler_for("openai", url, "sk-1", rpm=120)  # same key and URL (trailing slash aside)
    assert b is a
    assert (a.rpm, a.concurrency, a.window_s) == (120, 4, 10.0)  # None leaves a value as it was
    scheduler_for("openai", url, "sk-1", concurrency=2, window_s=30)
    assert (a.rpm, a.concurrency, a.window_s) == (120, 2, 30.0)
    assert scheduler_for("openai", url, "sk-2") is not a
    assert scheduler_for("anthropic", url, "sk-1") is not a
