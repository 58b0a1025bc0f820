"""How long a server asked us to wait (a literal table), and the backoff schedule (hand-computed).

`parse_retry_after` reads, in this order: ``retry-after-ms`` (milliseconds), ``Retry-After`` (seconds
or an HTTP date, RFC 9110 §10.2.3), then a "try again in N <unit>" sentence in the error message
(Moonshot's style). `RetryPolicy.delay` is full jitter: uniform in [0, min(cap, base * 2**attempt)],
floored by the server's wait.
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import pytest

from llm_magics.providers import retry
from llm_magics.providers.retry import RetryPolicy, parse_retry_after

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT

TABLE: list[tuple[dict[str, str] | None, str | None, float | None]] = [
    # headers                                            message                               seconds
    ({"retry-after-ms": "250"},                           None,                                 0.25),
    ({"retry-after-ms": "0"},                             None,                                 0.0),
    ({"retry-after-ms": "-40"},                           None,                                 0.0),
    ({"retry-after-ms": "1500", "retry-after": "9"},      None,                                 1.5),
    ({"retry-after-ms": "soon", "retry-after": "3"},      None,                                 3.0),
    ({"retry-after": "7"},                                None,                                 7.0),
    ({"retry-after": "1.5"},                              None,                                 1.5),
    ({"retry-after": "-3"},                               None,                                 0.0),
    ({"retry-after": "Tue, 14 Nov 2023 22:13:50 GMT"},    None,                                 30.0),
    ({"retry-after": "Tue, 14 Nov 2023 22:15:20 GMT"},    None,                                 120.0),
    ({"retry-after": "Tue, 14 Nov 2023 22:13:00 GMT"},    None,                                 0.0),   # in the past
    ({"retry-after": "whenever"},                         None,                                 None),
    ({"retry-after": "whenever"},                         "please try again in 2 seconds",      2.0),
    ({"retry-after": ""},                                 None,                                 None),
    ({},                                                  "please try again after 20 seconds",  20.0),
    (None,                                                "Please retry in 1.5s",               1.5),
    (None,                                                "try again in 500ms",                 0.5),
    (None,                                                "Try again in 250 milliseconds.",     0.25),
    (None,                                                "try again in 1 millisecond",         0.001),
    (None,                                                "try again in 2 minutes",             120.0),
    (None,                                                "try again in 3 mins",                180.0),
    (None,                                                "retry after 1m",                     60.0),
    (None,                                                "retry after 7",                      7.0),     # bare number: seconds
    (None,                                                "TRY AGAIN IN 4 SECS",                4.0),
    (None,                                                "try again in 2 sec",                 2.0),
    (None,                                                "nothing to see here",                None),
    (None,                                                "",                                   None),
    (None,                                                None,                                 None),
]


@pytest.mark.parametrize(("headers", "message", "expected"), TABLE)
def test_retry_after_table(monkeypatch: pytest.MonkeyPatch, headers: dict[str, str] | None, message: str | None,
                           expected: float | None) -> None:
    monkeypatch.setattr(retry, "time", SimpleNamespace(time=lambda: NOW))  # the clock for HTTP dates
    assert parse_retry_after(headers, message) == expected


class _EdgeRng:
    """A stand-in for random.Random: records each uniform(a, b) and answers a or b."""

    def __init__(self, upper: bool) -> None:
        self.upper = upper
        self.calls: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.calls.append((a, b))
        return b if self.upper else a


def test_backoff_ceiling_doubles_from_base_up_to_cap() -> None:
    policy = RetryPolicy(base=0.5, cap=8.0)
    top = _EdgeRng(upper=True)
    assert [policy.delay(a, rng=top) for a in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert top.calls == [(0.0, 0.5), (0.0, 1.0), (0.0, 2.0), (0.0, 4.0), (0.0, 8.0), (0.0, 8.0), (0.0, 8.0)]
    assert [RetryPolicy(base=1.0, cap=3.0).delay(a, rng=top) for a in range(3)] == [1.0, 2.0, 3.0]
    bottom = _EdgeRng(upper=False)
    assert policy.delay(3, rng=bottom) == 0.0  # full jitter: the lower end is zero


def test_server_wait_is_a_floor_not_a_ceiling() -> None:
    policy = RetryPolicy(base=0.5, cap=8.0)
    assert policy.delay(0, retry_after=3.0, rng=_EdgeRng(upper=True)) == 3.0  # max(0.5, 3.0)
    assert policy.delay(5, retry_after=3.0, rng=_EdgeRng(upper=True)) == 8.0  # max(8.0, 3.0)
    assert policy.delay(2, retry_after=0.0, rng=_EdgeRng(upper=True)) == 2.0  # a zero wait floors nothing
    assert policy.delay(2, retry_after=0.0, rng=_EdgeRng(upper=False)) == 0.0


def test_without_an_rng_the_module_random_is_used() -> None:
    random.seed(7)
    expected = random.Random(7).uniform(0.0, 2.0)
    assert RetryPolicy(base=0.5, cap=8.0).delay(2) == expected


def test_policy_defaults() -> None:
    p = RetryPolicy()
    assert (p.max_retries, p.base, p.cap, p.max_retry_after) == (2, 0.5, 8.0, 60.0)
