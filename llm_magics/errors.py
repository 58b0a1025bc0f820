"""Every error llm-magics raises, in one tree.

```
LLMError                      base: provider, status, error_type, retryable, hint
├── ConfigurationError        bad flags, unknown provider/persona, bad YAML, missing key
├── AuthenticationError       401 (and 403 permission_denied): key wrong, revoked or wrong region
├── ModelNotFoundError        404 on a model; carries `suggestions` (closest IDs)
├── RateLimitError            429 rate_limit_reached_error; retried with backoff
├── QuotaExceededError        exceeded_current_quota_error: out of credit; never retried
├── OverloadedError           engine_overloaded_error / Anthropic 529; retried
├── BadRequestError           400 invalid_request_error
│   └── ContentFilterError    400 content_filter (the prompt or answer was blocked)
├── ProviderError             5xx / 504 / malformed server data; retried when status says so
│   └── APIConnectionError    could not connect, or the connection dropped before any byte
├── StreamInterrupted         the stream stopped early or stalled; carries `partial_text`
└── BudgetExceededError       `%llm config budget=…`: a run would not fit, or used it up (nothing more sent)
```

Messages say what happened and what to do next. They never contain an API key: keys are
masked before they reach any message (see `llm_magics.providers.base.mask_key`), and server text
is quoted only through `llm_magics.providers.http.quote_server`, which masks the key first.
"""

from __future__ import annotations

__all__ = [
    "LLMError",
    "ConfigurationError",
    "AuthenticationError",
    "ModelNotFoundError",
    "RateLimitError",
    "QuotaExceededError",
    "OverloadedError",
    "BadRequestError",
    "ContentFilterError",
    "ProviderError",
    "APIConnectionError",
    "StreamInterrupted",
    "BudgetExceededError",
]


class LLMError(Exception):
    """Base of every llm-magics error.

    `hint` is the "what to do next" sentence; it is part of `str(error)`.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        error_type: str | None = None,
        hint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.message = message
        self.provider = provider
        self.status = status
        self.error_type = error_type
        self.hint = hint
        self.retry_after = retry_after
        super().__init__(self._render())

    def _render(self) -> str:
        head = self.message
        tags = [t for t in (self.provider, str(self.status) if self.status else None, self.error_type) if t]
        if tags:
            head = f"[{' · '.join(tags)}] {head}"
        return f"{head}\n→ {self.hint}" if self.hint else head

    def _render_traceback_(self) -> list[str]:
        """What IPython/Jupyter show for an uncaught llm-magics error: its message, not 30 frames.

        The message already says what happened and what to do. `LLM_MAGICS_TRACEBACK=1` brings
        the full traceback back (for bug reports).
        """
        import os

        if os.environ.get("LLM_MAGICS_TRACEBACK", "").strip() not in ("", "0"):
            from IPython.core.getipython import get_ipython

            ip = get_ipython()  # type: ignore[no-untyped-call,unused-ignore]  # untyped in IPython 8.x (Python 3.10)
            if ip is not None:
                return list(ip.InteractiveTB.structured_traceback(type(self), self, self.__traceback__))
        return [f"\x1b[0;31m{type(self).__name__}\x1b[0m: {self}"]

    def __reduce__(self):  # type: ignore[no-untyped-def]
        # Keep keyword-only state when pickled (e.g. across processes).
        return (_rebuild, (type(self), self.__dict__.copy()))


def _rebuild(cls: type[LLMError], state: dict[str, object]) -> LLMError:
    err = cls.__new__(cls)
    err.__dict__.update(state)
    Exception.__init__(err, err._render())
    return err


class ConfigurationError(LLMError):
    """Something on our side is wrong: a flag, a name, a file, a missing key."""


class BudgetExceededError(LLMError):
    """The session budget (`%llm config budget=…`) would be exceeded: refused before sending, or stopped."""


class AuthenticationError(LLMError):
    """The server refused the key (401, or 403 permission denied)."""


class ModelNotFoundError(LLMError):
    """The model ID does not exist for this provider; `suggestions` lists the closest IDs."""

    def __init__(self, message: str, *, suggestions: list[str] | None = None, **kw: object) -> None:
        self.suggestions = list(suggestions or [])
        super().__init__(message, **kw)  # type: ignore[arg-type]


class RateLimitError(LLMError):
    """Too many requests (429); retried with backoff, honouring Retry-After."""

    retryable = True


class QuotaExceededError(LLMError):
    """The account is out of credit or over its quota; retrying cannot help."""


class OverloadedError(LLMError):
    """The provider is overloaded (Moonshot engine_overloaded_error, Anthropic 529); retried."""

    retryable = True


class BadRequestError(LLMError):
    """The server rejected the request's content or parameters (400)."""


class ContentFilterError(BadRequestError):
    """The provider's content filter blocked the prompt or the answer."""


class ProviderError(LLMError):
    """The server failed (5xx, 504) or sent data we cannot read."""

    def __init__(self, message: str, *, retryable: bool | None = None, **kw: object) -> None:
        if retryable is not None:
            self.retryable = retryable
        super().__init__(message, **kw)  # type: ignore[arg-type]


class APIConnectionError(ProviderError):
    """No connection, or it dropped before the first byte; safe to retry."""

    retryable = True


class StreamInterrupted(LLMError):
    """The stream ended before its finish (disconnect, stall, cancel); the partial text is kept."""

    def __init__(
        self,
        message: str,
        *,
        partial_text: str = "",
        partial_reasoning: str = "",
        **kw: object,
    ) -> None:
        self.partial_text = partial_text
        self.partial_reasoning = partial_reasoning
        super().__init__(message, **kw)  # type: ignore[arg-type]
