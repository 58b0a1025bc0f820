"""HTTP status + error body → the error tree, as a literal table (class, retried or not, message).

Covers what real servers send: a bare status with no known error type (429, 404, 401), a known
type with an unusual status, HTML and empty bodies, 408/409 and unexpected statuses, Moonshot's
"high risk" content-filter message, Anthropic's credit-balance message, FastAPI ``detail``,
errors inside a 200 stream (no status of their own), and how server text is quoted (key masked
before the cut).
"""

from __future__ import annotations

from typing import Any

import pytest

from llm_magics.errors import (
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    ModelNotFoundError,
    OverloadedError,
    ProviderError,
    QuotaExceededError,
    RateLimitError,
)
from llm_magics.providers.error_map import error_from_body, quote_server

H = "api.test"


def err_of(**kw: Any) -> dict[str, Any]:
    return {"error": kw}


TABLE: list[tuple[int | None, Any, type, bool, str]] = [
    # status, body,                                                    class,              retried, message
    (429, b"",                                                         RateLimitError,      True,  f"Rate limit reached at {H}"),
    (429, err_of(type="rate_limit_reached_error", message="slow down"), RateLimitError,     True,  f"Rate limit reached at {H}: slow down"),
    (400, err_of(type="rate_limit_exceeded", message="m"),             RateLimitError,      True,  f"Rate limit reached at {H}: m"),
    (400, err_of(code="rate_limit_exceeded", message="x"),             RateLimitError,      True,  f"Rate limit reached at {H}: x"),
    (401, b"",                                                         AuthenticationError, False, f"{H} refused the API key"),
    (401, {"error": "plain string error"},                             AuthenticationError, False, f"{H} refused the API key: plain string error"),
    (403, err_of(type="permission_denied_error", message="no"),        AuthenticationError, False, f"{H} refused the API key: no"),
    (404, b"",                                                         ModelNotFoundError,  False, f"Not found at {H}"),
    (400, err_of(type="not_found_error", message="gone"),              ModelNotFoundError,  False, f"Not found at {H}: gone"),
    (400, err_of(message="Invalid model name passed in model=kimi-k3"), ModelNotFoundError, False,
     f"Not found at {H}: Invalid model name passed in model=kimi-k3"),
    (529, b"",                                                         OverloadedError,     True,  f"{H} is overloaded"),
    (503, err_of(type="engine_overloaded_error", message="busy"),      OverloadedError,     True,  f"{H} is overloaded: busy"),
    (500, {"type": "overloaded_error", "error": {"message": "m"}},    OverloadedError,     True,  f"{H} is overloaded: m"),
    (429, err_of(type="exceeded_current_quota_error", message="out"),  QuotaExceededError,  False,
     "The account behind this key is out of credit or over its quota: out"),
    (403, err_of(type="user_quota_exhausted"),                         QuotaExceededError,  False,
     "The account behind this key is out of credit or over its quota"),
    (400, {"type": "error", "error": {"type": "invalid_request_error",
                                      "message": "Your credit balance is too low to access the Anthropic API."}},
     QuotaExceededError, False,
     "The account behind this key is out of credit or over its quota: "
     "Your credit balance is too low to access the Anthropic API."),
    (400, err_of(type="content_filter", message="blocked"),            ContentFilterError,  False,
     "The provider's content filter blocked the request: blocked"),
    (400, err_of(type="invalid_request_error", message="The request was rejected because it was considered high risk"),
     ContentFilterError, False,
     "The provider's content filter blocked the request: The request was rejected because it was considered high risk"),
    (400, b"",                                                         BadRequestError,     False, f"{H} rejected the request"),
    (413, b"",                                                         BadRequestError,     False, f"{H} rejected the request"),
    (422, {"detail": [{"loc": ["body", "messages"], "msg": "Field required"}, {"msg": "bad"}]},
     BadRequestError, False, f"{H} rejected the request: body.messages: Field required; bad"),
    (418, err_of(type="invalid_request_error", message="bad"),         BadRequestError,     False, f"{H} rejected the request: bad"),
    (500, {"detail": "1 validation error for Request"},               BadRequestError,     False,
     f"{H} rejected the request (HTTP 500): 1 validation error for Request"),
    (500, b"",                                                         ProviderError,       True,  f"{H} failed (HTTP 500)"),
    (500, '{"error": {"message": "boom"}}',                            ProviderError,       True,  f"{H} failed (HTTP 500): boom"),
    (503, None,                                                        ProviderError,       True,  f"{H} failed (HTTP 503)"),
    (504, b"  \n",                                                     ProviderError,       True,  f"{H} timed out at the gateway (HTTP 504)"),
    (502, b"<html><body>Bad gateway</body></html>",                    ProviderError,       True,
     f"{H} failed (HTTP 502): <html><body>Bad gateway</body></html>"),
    (408, b"",                                                         ProviderError,       True,  f"{H} failed (HTTP 408)"),
    (409, b"",                                                         ProviderError,       True,  f"{H} failed (HTTP 409)"),
    (499, b"",                                                         ProviderError,       False, f"Unexpected answer from {H} (HTTP 499)"),
    # a schema rejection is a 500 only from llama-cpp-python; below 500 the status decides
    (499, {"detail": "1 validation error"},                            ProviderError,       False,
     f"Unexpected answer from {H} (HTTP 499): 1 validation error"),
    (409, {"detail": "1 validation error"},                            ProviderError,       True,  f"{H} failed (HTTP 409): 1 validation error"),
    # model-missing text means ModelNotFoundError only with 400/404 (or in a stream): a 403 is about
    # the key, a 405 about the URL
    (403, err_of(type="permission_denied_error", message="The model `kimi-k3` does not exist for this key"),
     AuthenticationError, False, f"{H} refused the API key: The model `kimi-k3` does not exist for this key"),
    (405, err_of(message="model not found"),                           ProviderError,       False,
     f"Unexpected answer from {H} (HTTP 405): model not found"),
    (418, b"",                                                         ProviderError,       False, f"Unexpected answer from {H} (HTTP 418)"),
    (302, b"moved",                                                    ProviderError,       False, f"Unexpected answer from {H} (HTTP 302): moved"),
    # inside a 200 stream: no status; the error's own code or type stands in for one
    (None, err_of(code="500", message="backend died"),                 ProviderError,       True,  f"{H} failed mid-stream (error 500): backend died"),
    (None, {"type": "error", "error": {"type": "api_error", "message": "x"}}, ProviderError, True, f"{H} failed mid-stream (error 500): x"),
    (None, err_of(code="404", message="nope"),                         ModelNotFoundError,  False, f"Not found at {H}: nope"),
    (None, err_of(code="429", message="later"),                        RateLimitError,      True,  f"Rate limit reached at {H}: later"),
    (None, err_of(code="503"),                                         ProviderError,       True,  f"{H} failed mid-stream (error 503)"),
    (None, err_of(code="400", message="m"),                            BadRequestError,     False, f"{H} rejected the request: m"),
    (None, err_of(code="499", message="m"),                            ProviderError,       False, f"{H} failed mid-stream (error 499): m"),
    (None, err_of(code="599", message="m"),                            ProviderError,       True,  f"{H} failed mid-stream (error 599): m"),
    (None, err_of(code="399", message="odd"),                          ProviderError,       False, f"{H} sent an error mid-stream: odd"),
    (None, err_of(code="600", message="odd"),                          ProviderError,       False, f"{H} sent an error mid-stream: odd"),
    (None, err_of(message="weird"),                                    ProviderError,       False, f"{H} sent an error mid-stream: weird"),
    (None, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}, OverloadedError, True,
     f"{H} is overloaded: Overloaded"),
]


@pytest.mark.parametrize(("status", "body", "cls", "retryable", "message"), TABLE)
def test_error_table(status: int | None, body: Any, cls: type, retryable: bool, message: str) -> None:
    err = error_from_body(status, body, provider="kimi", host=H)
    assert type(err) is cls
    assert err.retryable is retryable
    assert err.message == message
    assert (err.provider, err.status) == ("kimi", status)


def test_error_type_and_retry_after_are_kept() -> None:
    err = error_from_body(429, err_of(type="rate_limit_reached_error", message="Please try again after 2 seconds"),
                          provider="kimi", host=H)
    assert (err.error_type, err.retry_after) == ("rate_limit_reached_error", 2.0)
    err = error_from_body(429, b"", provider="kimi", host=H, headers={"retry-after": "3"})
    assert (err.error_type, err.retry_after) == (None, 3.0)
    err = error_from_body(400, err_of(code="rate_limit_exceeded"), provider="kimi", host=H)
    assert err.error_type == "rate_limit_exceeded"  # no type: the code names it
    assert error_from_body(500, {"object": "error", "message": "m", "type": "InternalServerError", "code": 500},
                           provider="vllm", host=H).error_type == "InternalServerError"


def test_server_text_is_quoted_and_cut() -> None:
    long_type, long_msg = "t" * 100, "m" * 400
    err = error_from_body(500, err_of(type=long_type, message=long_msg), provider="kimi", host=H)
    assert err.error_type == "t" * 80 + "…"
    assert err.message == f"{H} failed (HTTP 500): " + "m" * 300 + "…"
    masked = error_from_body(401, err_of(message="bad key sk-secret-123"), provider="kimi", host=H,
                             quote=lambda text, limit: quote_server(text, "sk-secret-123", "sk-…", limit))
    assert masked.message == f"{H} refused the API key: bad key sk-…"


def test_quote_server() -> None:
    assert quote_server(None, "k") == ""
    assert quote_server(b"caf\xc3\xa9 \xff", None) == "café \ufffd"
    assert quote_server("my key is sk-123456 ok", "sk-123456", "sk-…") == "my key is sk-… ok"
    assert quote_server("a" * 10, None, limit=10) == "a" * 10
    assert quote_server("a" * 10, None, limit=9) == "a" * 9 + "…"
    assert quote_server("x" * 301, None) == "x" * 300 + "…"
    assert quote_server("key KEY", "KEY") == "key …"  # the default mask
    assert quote_server("key KEY", "") == "key KEY"
    # masking before cutting: the cut cannot leave the start of the key behind
    out = quote_server("x" * 8 + "SECRETKEY", "SECRETKEY", "***", limit=10)
    assert out == "xxxxxxxx**…" and "SE" not in out
