"""The shared async HTTP layer every network provider stands on.

`HTTPProvider` owns: one `httpx.AsyncClient` per provider instance per event loop (a client must
never cross loops: the session's private loop in `sync.py` and a notebook's own loop each get
theirs), bounded waits (connect and read timeouts, a per-call deadline, keep-alives that are not
progress), the shared rate-limit scheduler (`scheduler.py`), retries before the first byte, and
typed errors (the mapping of status + body lives in `error_map.py`). Subclasses build request
bodies and read responses; they override `_describe_error` to add their own hints.

Server bytes reach a message only through `HTTPProvider.quote` (one function: decode, mask the
key, cut), so a server that echoes the key cannot leak it into an error, an output or the history.

Options (from `get_provider(..., **options)`; `%llm config` / ``LLM_MAGICS_*`` set the first five):
``connect_timeout`` (10 s), ``read_timeout`` (120 s: the longest wait for the next piece of an
answer; keep-alive comments do not count), ``deadline`` (1800 s for a whole call, retries
included; queueing for the rate limit is not counted), ``rpm``, ``concurrency``, ``max_retries``,
``backoff_base``, ``backoff_cap``, ``request_timeout`` (600 s for a whole non-streamed answer),
``rate_window`` (60 s: the window an rpm counts in), ``transport`` (an httpx transport).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from llm_magics.errors import (
    APIConnectionError,
    AuthenticationError,
    ConfigurationError,
    LLMError,
    ModelNotFoundError,
    OverloadedError,
    ProviderError,
    RateLimitError,
    StreamInterrupted,
)
from llm_magics.providers.error_map import error_from_body, quote_server
from llm_magics.providers.sse import SSEDecoder, SSEvent
from llm_magics.providers.suggest import closest
from llm_magics.providers.base import Provider
from llm_magics.providers.deadline import Expired, Watchdog
from llm_magics.providers.retry import RetryPolicy
from llm_magics.providers.scheduler import Permit, Scheduler, on_admitted, scheduler_for

if TYPE_CHECKING:
    import httpx

__all__ = ["HTTPProvider", "error_from_body", "quote_server", "CONTROL_OPTIONS", "DIAGNOSTIC_OPTIONS",
           "DEFAULT_DEADLINE_S"]

#: Options that steer the HTTP layer; never sent in a request body.
CONTROL_OPTIONS = frozenset({
    "rpm", "concurrency", "max_retries", "backoff_base", "backoff_cap", "connect_timeout", "read_timeout",
    "request_timeout", "deadline", "rate_window", "transport", "max_retry_after",
})

#: Generous for thinking models (a long reasoning answer streams for many minutes), but finite.
DEFAULT_DEADLINE_S = 1800.0

#: Diagnostics (`%llm check`, `%llm models --refresh`, key tests) answer quickly whatever the server
#: does: one attempt, short timeouts, a short deadline (two such calls fit in 15 s).
DIAGNOSTIC_OPTIONS: dict[str, Any] = {
    "connect_timeout": 5.0, "read_timeout": 6.0, "request_timeout": 6.0, "deadline": 6.0, "max_retries": 0,
}

_KNOBS = {
    "connect_timeout": "`%llm config connect_timeout=SECONDS` (or LLM_MAGICS_CONNECT_TIMEOUT)",
    "read_timeout": "`%llm config read_timeout=SECONDS` (or LLM_MAGICS_READ_TIMEOUT)",
    "deadline": "`%llm config deadline=SECONDS` (or LLM_MAGICS_DEADLINE)",
}


class HTTPProvider(Provider):
    """A `Provider` that talks HTTP with retries, timeouts, rate limiting and typed errors."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self.base_url:
            spec = self.spec
            if spec is None and self.name:
                from llm_magics.providers.registry import PROVIDERS

                spec = PROVIDERS[self.name] if self.name in PROVIDERS else None
            self.base_url = (spec.default_base_url if spec else "").rstrip("/")
        o = self.options
        self.retry_policy = RetryPolicy(
            max_retries=int(o.get("max_retries", 2)),
            base=float(o.get("backoff_base", 0.5)),
            cap=float(o.get("backoff_cap", 8.0)),
            max_retry_after=float(o.get("max_retry_after", 60.0)),
        )
        self.connect_timeout = float(o.get("connect_timeout") or 10.0)
        self.read_timeout = float(o.get("read_timeout") or 120.0)
        self.request_timeout = float(o.get("request_timeout") or 600.0)
        self.deadline = float(o.get("deadline") or DEFAULT_DEADLINE_S)
        rpm, concurrency, window = o.get("rpm"), o.get("concurrency"), o.get("rate_window")
        #: Shared by every provider instance with this name + base URL + key in the process.
        self.scheduler: Scheduler = scheduler_for(
            self.name, self.base_url, self.key.secret.reveal() if self.key else None,
            rpm=int(rpm) if rpm else None, concurrency=int(concurrency) if concurrency else None,
            window_s=float(window) if window else None,
        )
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
            weakref.WeakKeyDictionary()
        )
        self._key_reported = False

    # -- subclass hooks -----------------------------------------------------------------
    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key.secret.reveal()}"} if self.key else {}

    def _describe_error(self, err: LLMError) -> LLMError:
        """Subclasses refine messages/hints (e.g. Kimi's region advice on 401)."""
        return err

    def _answer_as_events(self, raw: bytes) -> list[SSEvent] | None:
        """A whole (non-streamed) answer sent to a streamed request, as this provider's own stream
        events; None when `raw` is not a successful answer (then it is reported as an error)."""
        return None

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc or self.base_url

    def _url(self, path: str) -> str:
        return self.base_url + path

    # -- client management ----------------------------------------------------------------
    def client(self) -> httpx.AsyncClient:
        """This instance's client for the running event loop (created on first use)."""
        import httpx

        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.is_closed:
            client = httpx.AsyncClient(
                transport=self.options.get("transport"),
                timeout=httpx.Timeout(connect=self.connect_timeout, read=self.read_timeout,
                                      write=self.read_timeout, pool=self.connect_timeout),
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=16),
                headers={"User-Agent": "llm-magics"},
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - always called from a loop
            return
        client = self._clients.pop(loop, None)
        if client is not None:
            await client.aclose()

    def rate_limit_status(self) -> dict[str, Any]:
        """The shared scheduler's limits, in-flight count and the last rate-limit headers seen."""
        return self.scheduler.snapshot()

    # -- requests ---------------------------------------------------------------------------
    def quote(self, text: bytes | str | None, limit: int = 300) -> str:
        """Server text for a message: decoded, this provider's key masked, cut (see `quote_server`)."""
        key = self.key
        return quote_server(text, key.secret.reveal() if key else None, key.masked if key else "…", limit)

    def malformed_event(self, data: str, hint: str = "Check the base URL points at the provider's API.") -> ProviderError:
        """A stream event that is not the JSON it should be (quoted through `quote`)."""
        return ProviderError(f"{self.host} sent a malformed stream event: {self.quote(data, 120)!r}",
                             provider=self.name, hint=hint)

    def _error(self, status: int | None, body: bytes | str | Mapping[str, Any] | None,
               headers: Mapping[str, str] | None = None) -> LLMError:
        err = self._describe_error(error_from_body(status, body, provider=self.name, host=self.host, headers=headers,
                                                   quote=self.quote))
        if isinstance(err, AuthenticationError) and status == 401:
            self._report_invalid_key()
        return err

    def _report_invalid_key(self) -> None:
        if self.key is not None and self.key.on_invalid is not None and not self._key_reported:
            self._key_reported = True
            try:
                self.key.on_invalid()
            except Exception:  # noqa: BLE001 - marking the key must never hide the real error
                pass

    def _connection_error(self, exc: Exception) -> APIConnectionError:
        import httpx

        if isinstance(exc, httpx.ConnectTimeout):
            what, knob = f"timed out after {self.connect_timeout:g} s (ConnectTimeout)", "connect_timeout"
        elif isinstance(exc, httpx.TimeoutException):
            waited = self.read_timeout if isinstance(exc, httpx.ReadTimeout) else self.request_timeout
            what, knob = f"timed out: no answer for {waited:g} s ({type(exc).__name__})", "read_timeout"
        else:
            what, knob = f"failed ({type(exc).__name__}: {self.quote(str(exc), 200)})", "connect_timeout"
        return APIConnectionError(
            f"Connection to {self.host} {what} before any answer arrived.",
            provider=self.name,
            hint=f"Check the network and the base URL ({self.base_url}); if the server is just slow, raise "
                 f"{_KNOBS[knob]}.",
        )

    def _expired(self, exp: Expired, *, streaming: bool) -> LLMError:
        """A watchdog limit as a typed error that names the knob that sets it."""
        if exp.kind == "idle" and not exp.comments:  # nothing at all arrived: a plain stall
            return StreamInterrupted(
                f"The stream from {self.host} stalled: nothing arrived for {exp.limit:g} s.",
                provider=self.name, hint=f"Partial text is kept; retry, or raise {_KNOBS['read_timeout']} "
                                         "for slow models.",
            )
        if exp.kind == "idle":
            return StreamInterrupted(
                f"The stream from {self.host} made no progress for {exp.limit:g} s (keep-alive comments only).",
                provider=self.name, hint=f"Partial text is kept; retry, or raise {_KNOBS['read_timeout']} for "
                                         "servers that think silently for long.",
            )
        what = "the answer did not finish" if streaming else "no complete answer arrived"
        message = f"{self.host}: {what} within the {exp.limit:g} s deadline for one call."
        hint = f"Raise {_KNOBS['deadline']} for long answers (thinking models)."
        if streaming:
            return StreamInterrupted(message, provider=self.name, hint="Partial text is kept. " + hint)
        return APIConnectionError(message, provider=self.name, hint=hint)

    @contextlib.asynccontextmanager
    async def _stream_errors(self, model: str, text: list[str], reasoning: list[str]) -> AsyncIterator[None]:
        """Every streaming provider's error contract in one place: an error keeps the text received
        so far (`partial_text`), and a 404 names the model and the closest IDs the server offers."""
        try:
            yield
        except StreamInterrupted as exc:
            raise interrupted(exc, "".join(text), "".join(reasoning)) from exc.__cause__
        except ModelNotFoundError as exc:
            raise await self._model_not_found(model, exc) from None
        except LLMError as exc:
            raise attach_partial(exc, "".join(text), "".join(reasoning)) from exc.__cause__

    async def _post_for_model(self, path: str, body: Any, model: str) -> tuple[Any, float]:
        """POST a non-streamed request: (JSON answer, seconds). A 404 names the model and its closest IDs."""
        t0 = time.perf_counter()

        def sent() -> None:  # queueing for the rate limit is not the model's latency
            nonlocal t0
            t0 = time.perf_counter()

        try:
            with on_admitted(sent):
                obj = await self._json("POST", path, body)
        except ModelNotFoundError as exc:
            raise await self._model_not_found(model, exc) from None
        return obj, time.perf_counter() - t0

    def _require_key(self) -> None:
        """No key for a provider that needs one: say how to add it instead of sending a doomed request."""
        if self.key is not None or self.spec is None or not self.spec.needs_key:
            return
        env = " or ".join(self.spec.key_env)
        raise ConfigurationError(
            f"No API key for {self.spec.title}.",
            provider=self.name,
            hint=f"Add one with `%llm keys add {self.name}` (hidden prompt)"
            + (f", set {env}" if env else "")
            + ", or pass api_key=… to get_provider().",
        )

    async def _model_not_found(self, model: str, err: ModelNotFoundError) -> ModelNotFoundError:
        """The 404 again, now naming the model and the closest IDs the server offers.

        When the server does list `model`, no ID is suggested: the server's own words are kept, since
        the cause is elsewhere (no access for this key, or a proxy's backend missing a route)."""
        try:
            ids = [m.id for m in await self.list_models()]
        except LLMError:
            ids = []
        if model in ids:
            return ModelNotFoundError(
                f"Model '{model}' was not found at {self.host}, although it lists it. {err.message}",
                provider=self.name, status=err.status, error_type=err.error_type,
                hint="This key may have no access to it, or the backend behind a proxy (LiteLLM) is missing a "
                     "route for it; the server's log says which.",
            )
        suggestions = closest(model, ids)
        hint: str | None
        if suggestions:
            hint = "Did you mean " + " or ".join(f"'{s}'" for s in suggestions) + "? All IDs: `%llm models --refresh`."
        elif ids:
            hint = f"{len(ids)} models are available; list them with `%llm models --refresh`."
        else:
            hint = err.hint
        return ModelNotFoundError(
            f"Model '{model}' was not found at {self.host}.", suggestions=suggestions, provider=self.name,
            status=err.status, error_type=err.error_type, hint=hint,
        )

    async def _send(self, method: str, path: str, body: Any = None, *, stream: bool, watchdog: Watchdog,
                    params: Mapping[str, str] | None = None) -> tuple[httpx.Response, Permit | None]:
        """Send through the rate-limit scheduler, with retries, within the watchdog's deadline.

        Returns a response with status < 400 (unread if streaming) and its scheduler permit, which
        the caller releases when it is done with the response. Generation requests (POST, streams)
        wait for the scheduler; GETs (model lists, balance) do not. The deadline clock starts when
        the first attempt is admitted.
        """
        self._require_key()
        import httpx

        client = self.client()
        policy = self.retry_policy
        sched = self.scheduler
        dog = watchdog
        scheduled = stream or method == "POST"
        headers = {**self._auth_headers(), "Accept": "text/event-stream" if stream else "application/json"}
        timeout = None if stream else httpx.Timeout(connect=self.connect_timeout, read=self.request_timeout,
                                                     write=self.read_timeout, pool=self.connect_timeout)
        attempt = 0
        try:
            while True:
                permit: Permit | None = None
                if scheduled:
                    permit = await (dog.guard(sched.acquire()) if dog.started else sched.acquire())
                dog.start()
                outcome = "error"
                err: LLMError
                cause: Exception | None = None
                try:
                    request = client.build_request(
                        method, self._url(path), json=body, headers=headers, params=params,
                        timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                    )
                    try:
                        response = await dog.guard(client.send(request, stream=True))
                    except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                        err, cause = self._connection_error(exc), exc
                    else:
                        sched.observe(response.headers, permit)
                        if response.status_code < 400:
                            outcome = "kept"
                            return response, permit
                        try:
                            raw = await dog.guard(response.aread())
                        except httpx.HTTPError:
                            raw = b""
                        finally:
                            await response.aclose()
                        err = self._error(response.status_code, raw, response.headers)
                        if isinstance(err, RateLimitError):
                            sched.learn(err.message)  # e.g. Moonshot's "max RPM: 3" holds for the session
                        if isinstance(err, (RateLimitError, OverloadedError)):
                            outcome = "rate_limited"
                finally:
                    if permit is not None and outcome != "kept":
                        permit.release(outcome)
                if err.retry_after is not None and isinstance(err, (RateLimitError, OverloadedError)):
                    sched.pause(min(err.retry_after, policy.max_retry_after))
                if not err.retryable or attempt >= policy.max_retries or (
                    err.retry_after is not None and err.retry_after > policy.max_retry_after
                ):
                    raise err from cause
                delay = policy.delay(attempt, err.retry_after)
                attempt += 1
                await dog.guard(asyncio.sleep(delay))
        except Expired as exp:
            raise self._expired(exp, streaming=False) from None

    async def _json(self, method: str, path: str, body: Any = None,
                    params: Mapping[str, str] | None = None) -> Any:
        import httpx

        dog = Watchdog(self.deadline, None)
        try:
            response, permit = await self._send(method, path, body, stream=False, params=params, watchdog=dog)
            outcome = "error"
            try:
                raw = await dog.guard(response.aread())
                outcome = "ok"
            except httpx.HTTPError as exc:
                raise ProviderError(f"{self.host} dropped the connection while sending its answer ({type(exc).__name__}).",
                                    provider=self.name, retryable=True, hint="Try again.") from exc
            except Expired as exp:
                raise self._expired(exp, streaming=False) from None
            finally:
                await response.aclose()
                if permit is not None:
                    permit.release(outcome)
        finally:
            dog.stop()
        try:
            return json.loads(raw)
        except ValueError:
            raise ProviderError(f"{self.host} sent a non-JSON answer: {self.quote(raw, 200)!r}", provider=self.name,
                                status=response.status_code, hint="Check the base URL points at the provider's API.") from None

    async def _events(self, path: str, body: Any) -> AsyncIterator[SSEvent]:
        """SSE events of a streamed POST. Drops, stalls, keep-alive-only stretches and the deadline
        raise `StreamInterrupted` (empty partial text: the caller, which knows the text so far,
        re-raises with it). Progress, for the idle limit, is a data event: comments do not count."""
        import httpx

        dog = Watchdog(self.deadline, self.read_timeout)
        permit: Permit | None = None
        outcome = "error"
        try:
            response, permit = await self._send("POST", path, body, stream=True, watchdog=dog)
            try:
                ctype = response.headers.get("content-type", "")
                if "text/event-stream" not in ctype and "json" in ctype:
                    # JSON instead of a stream: an error object (some servers send it with 200), or the
                    # whole answer (LiteLLM's /v1/messages for a mock_response model) = a one-chunk stream.
                    raw = await dog.guard(response.aread())
                    whole = self._answer_as_events(raw) if response.status_code < 300 else None
                    if whole is None:
                        raise self._error(response.status_code, raw, response.headers)
                    for event in whole:
                        yield event
                    outcome = "ok"
                    return
                if "text/html" in ctype:
                    # A web page where the event stream should be (a login page, a proxy's error page,
                    # a base URL without /v1): say what came back instead of "empty stream".
                    raw = await dog.guard(response.aread())
                    raise ProviderError(
                        f"{self.host} answered with a web page ({ctype.split(';')[0]}, HTTP "
                        f"{response.status_code}) instead of an event stream: {self.quote(raw, 200)!r}",
                        provider=self.name, status=response.status_code, retryable=False,
                        hint="Check the base URL (it usually ends in /v1) and any proxy or login page in between.",
                    )
                decoder = SSEDecoder()
                encoded = response.headers.get("content-encoding", "identity") not in ("", "identity")
                chunks = (response.aiter_bytes() if encoded else response.aiter_raw()).__aiter__()
                dog.watch_idle()
                while True:
                    dog.check()
                    dog.inside = True
                    try:
                        raw = await chunks.__anext__()
                    except StopAsyncIteration:
                        break
                    except asyncio.CancelledError as exc:
                        if dog.owns(exc) and dog.fired is not None:
                            raise dog.fired from None
                        raise
                    finally:
                        dog.inside = False
                    events = decoder.feed(raw)
                    if events:
                        dog.progress()
                        for event in events:
                            yield event
                    else:
                        dog.noise = True  # bytes, but no event: keep-alive comments (or half a line)
                outcome = "ok"
            except GeneratorExit:
                outcome = "ok"  # the caller stopped reading (e.g. after [DONE])
                raise
            except Expired as exp:
                raise self._expired(exp, streaming=True) from None
            except httpx.ReadTimeout as exc:
                raise StreamInterrupted(
                    f"The stream from {self.host} stalled: nothing arrived for {self.read_timeout:g} s.",
                    provider=self.name, hint=f"Partial text is kept; retry, or raise {_KNOBS['read_timeout']} "
                                             "for slow models.",
                ) from exc
            except (httpx.TransportError, httpx.StreamError) as exc:
                raise StreamInterrupted(
                    f"The connection to {self.host} dropped mid-stream ({type(exc).__name__}).",
                    provider=self.name, hint="Partial text is kept; run the cell again to get the whole answer.",
                ) from exc
            finally:
                await response.aclose()
        finally:
            dog.stop()
            if permit is not None:
                permit.release(outcome)


def interrupted(exc: StreamInterrupted, text: str, reasoning: str) -> StreamInterrupted:
    """The same interruption, now carrying the text received before it."""
    return StreamInterrupted(exc.message, partial_text=text, partial_reasoning=reasoning, provider=exc.provider,
                             status=exc.status, error_type=exc.error_type, hint=exc.hint)


def ended_early(provider: str, host: str, text: str, reasoning: str) -> StreamInterrupted:
    return StreamInterrupted(
        f"The stream from {host} ended before the answer was finished ({len(text)} characters received).",
        provider=provider, partial_text=text, partial_reasoning=reasoning,
        hint="Partial text is kept; run the cell again to get the whole answer.",
    )


def attach_partial(err: LLMError, text: str, reasoning: str) -> LLMError:
    """Typed errors raised mid-stream keep the text so far in `partial_text` / `partial_reasoning`."""
    setattr(err, "partial_text", text)  # noqa: B010 - documented dynamic attribute
    setattr(err, "partial_reasoning", reasoning)  # noqa: B010
    return err
