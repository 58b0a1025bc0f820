"""HTTP status + error body → the `llm_magics.errors` tree, for every provider and every server shape.

Bodies seen in the wild: OpenAI/Moonshot/LiteLLM ``{"error": {"message", "type", "code"}}``,
Anthropic ``{"type": "error", "error": {…}}``, vLLM ``{"object": "error", …}``, FastAPI
(llama-cpp-python, LiteLLM routes) ``{"detail": …}``, plain text and HTML. An error event inside a
200 stream has no status of its own: it is mapped by its ``code``/``type``. Server text reaches a
message only through `quote_server` (decoded, the key masked, then cut).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from llm_magics.errors import (
    AuthenticationError,
    BadRequestError,
    ContentFilterError,
    LLMError,
    ModelNotFoundError,
    OverloadedError,
    ProviderError,
    QuotaExceededError,
    RateLimitError,
)
from llm_magics.providers.retry import parse_retry_after

__all__ = ["error_from_body", "quote_server"]


def quote_server(text: bytes | str | None, secret: str | None, masked: str = "…", limit: int = 300) -> str:
    """The one way server bytes become message text: decoded, `secret` masked, then cut to `limit`.

    Masking comes before cutting, so a cut can never leave part of the key behind.
    """
    if text is None:
        return ""
    out = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    if secret:
        out = out.replace(secret, masked)
    return out if len(out) <= limit else out[:limit] + "…"

_QUOTA_TYPES = {"exceeded_current_quota_error", "insufficient_quota", "billing_error"}
_AUTH_TYPES = {"invalid_authentication_error", "authentication_error", "invalid_api_key",
               "permission_denied_error", "permission_error"}
_NOT_FOUND_TYPES = {"resource_not_found_error", "not_found_error", "model_not_found"}
_RATE_TYPES = {"rate_limit_reached_error", "rate_limit_error", "rate_limit_exceeded"}
_OVERLOAD_TYPES = {"engine_overloaded_error", "overloaded_error"}
_FILTER_TYPES = {"content_filter", "content_filter_error"}


def _parse_error_body(body: bytes | str | Mapping[str, Any] | None) -> tuple[str | None, str, str | None]:
    """(error.type, error.message, error.code) from any provider's error body; raw text when not JSON.
    All are server text: callers pass them through `quote_server` before any message uses them.

    Shapes: OpenAI/Moonshot/LiteLLM ``{"error": {"message", "type", "code"}}``, Anthropic
    ``{"type": "error", "error": {…}}``, vLLM ``{"object": "error", "message", "type", "code"}``,
    FastAPI (llama-cpp-python, LiteLLM routes) ``{"detail": "…"}`` or ``{"detail": [{"loc", "msg"}]}``.
    """
    obj: Any = body
    if isinstance(body, (bytes, str)):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            obj = json.loads(text) if text.strip() else None
        except ValueError:
            return None, text.strip(), None
    if isinstance(obj, Mapping):
        err = obj.get("error", obj)
        if isinstance(err, Mapping):
            etype = err.get("type") or err.get("code") or obj.get("type")
            msg = err.get("message") or _detail(obj.get("detail")) or ""
            code = err.get("code")
            return (str(etype) if etype else None), str(msg), (str(code) if code not in (None, "") else None)
        if isinstance(err, str):
            return None, err, None
    return None, "", None


def _detail(detail: Any) -> str:
    """FastAPI's ``detail``: a string, or validation errors as "body.messages: Field required; …"."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for d in detail:
            if isinstance(d, Mapping):
                loc = ".".join(str(x) for x in d.get("loc") or ())
                parts.append(f"{loc}: {d.get('msg', '')}" if loc else str(d.get("msg", "")))
        return "; ".join(parts)
    return ""


#: An unknown model, as real servers say it: LiteLLM "Invalid model name passed in model=…" (400),
#: OpenAI code ``model_not_found`` ("The model `x` does not exist…"), vLLM "The model `x` does not
#: exist." (404), Ollama 'model "x" not found, try pulling it first' (404).
_MODEL_MISSING = re.compile(
    r"invalid model name|model_not_found|unknown model|\bmodel\b[^.]{0,80}?\b(?:does not exist|not found|not exist)",
    re.IGNORECASE,
)

#: In-stream error types that mean "the server (or the backend behind a proxy) failed".
_SERVER_TYPES = {"api_error", "server_error", "internal_server_error", "internal_error", "service_unavailable"}


def _status_of_code(code: str | None, etype: str | None) -> int | None:
    """An error inside a stream has no HTTP status of its own: read one from its numeric ``code``
    (LiteLLM sends "500", llama.cpp 500) or its type (Anthropic ``api_error``)."""
    if code is not None and code.isdigit() and 400 <= int(code) <= 599:
        return int(code)
    if etype in _SERVER_TYPES:
        return 500
    return None


def error_from_body(
    status: int | None,
    body: bytes | str | Mapping[str, Any] | None,
    *,
    provider: str,
    host: str,
    headers: Mapping[str, str] | None = None,
    quote: Callable[[str, int], str] | None = None,
) -> LLMError:
    """Map status + error.type (+ message) onto the error tree, with a generic actionable hint.

    `quote(text, limit)` is applied to every piece of server text used (the provider passes its
    `quote`, which masks its key); without it the text is only cut.
    """
    q = quote or (lambda text, limit: quote_server(text, None, limit=limit))
    raw_type, raw_msg, raw_code = _parse_error_body(body)
    retry_after = parse_retry_after(headers, raw_msg)
    etype = q(raw_type, 80) if raw_type is not None else None
    msg = q(raw_msg, 300)
    low = (msg or "").lower()
    kw: dict[str, Any] = {"provider": provider, "status": status, "error_type": etype, "retry_after": retry_after}
    said = f": {msg}" if msg else ""
    in_stream = status is None
    if in_stream:  # an error event inside a 200 stream: map it by its own code/type, never "HTTP None"
        status = _status_of_code(raw_code, raw_type)
    if status in (None, 400, 404) and (_MODEL_MISSING.search(raw_msg or "") or raw_code == "model_not_found"):
        return ModelNotFoundError(f"Not found at {host}{said}",
                                  hint="List the available model IDs with `%llm models --refresh`.", **kw)
    if etype in _FILTER_TYPES or "content_filter" in low or "high risk" in low:
        return ContentFilterError(f"The provider's content filter blocked the request{said}",
                                  hint="Rephrase the prompt (or the persona's system prompt) and try again.", **kw)
    if etype in _QUOTA_TYPES or "credit balance" in low or "quota" in (etype or ""):
        return QuotaExceededError(f"The account behind this key is out of credit or over its quota{said}",
                                  hint="Top up or raise the quota in the provider's console; retrying will not help.", **kw)
    if etype == "no_db_connection":  # LiteLLM without a database: only its master key exists
        return AuthenticationError(f"{host} refused the API key{said}",
                                   hint="This LiteLLM proxy has no database, so only its master key "
                                        "(general_settings.master_key) is accepted: use that key.", **kw)
    if status == 401 or etype in _AUTH_TYPES:
        return AuthenticationError(f"{host} refused the API key{said}",
                                   hint="Check the key (`%llm keys test`), replace it with `%llm keys add`, "
                                        "or check that the base URL matches where the key was issued.", **kw)
    if status == 404 or etype in _NOT_FOUND_TYPES:
        return ModelNotFoundError(f"Not found at {host}{said}",
                                  hint="List the available model IDs with `%llm models --refresh`.", **kw)
    if etype in _OVERLOAD_TYPES or status == 529:
        return OverloadedError(f"{host} is overloaded{said}",
                               hint="Retried automatically; if it persists, try later or a lighter model.", **kw)
    if status == 429 or etype in _RATE_TYPES:
        return RateLimitError(f"Rate limit reached at {host}{said}",
                              hint="Retried automatically, and later calls wait for the limits the server "
                                   "announced; set them yourself with `%llm config rpm=N concurrency=N`.", **kw)
    if status in (400, 413, 422) or etype == "invalid_request_error":
        return BadRequestError(f"{host} rejected the request{said}",
                               hint="Check the model ID and parameters (temperature, max_tokens, messages).", **kw)
    if in_stream:
        what = f"failed mid-stream (error {status})" if status else "sent an error mid-stream"
        return ProviderError(f"{host} {what}{said}", retryable=status is not None and status >= 500,
                             hint="Partial text is kept; run the cell again. Behind a proxy (LiteLLM), this is "
                                  "the backend model server failing: check it.", **kw)
    if status is not None and status >= 500 and "validation error" in low:
        # llama-cpp-python answers a request its schema rejects with 500: the same request fails again.
        return BadRequestError(f"{host} rejected the request (HTTP {status}){said}",
                               hint="Check the parameters (temperature, max_tokens, messages); not retried.", **kw)
    if status is not None and (status >= 500 or status in (408, 409)):
        what = "timed out at the gateway" if status == 504 else "failed"
        return ProviderError(f"{host} {what} (HTTP {status}){said}", retryable=True,
                             hint="Retried automatically; if it persists, check the provider's status page.", **kw)
    return ProviderError(f"Unexpected answer from {host} (HTTP {status}){said}", retryable=False,
                         hint="Check the base URL points at the provider's API.", **kw)
