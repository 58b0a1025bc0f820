"""A fake OpenAI / Moonshot (Kimi) / Anthropic server on 127.0.0.1 for tests and benches.

Real sockets, real HTTP/1.1 (keep-alive; streams use chunked transfer encoding), one thread per
connection (`ThreadingHTTPServer`). Start it with the pytest fixture `fake_server` (function
scope, shut down at teardown) or by hand: ``srv = FakeLLMServer().start(); ...; srv.close()``.

Endpoints
    POST /v1/chat/completions   OpenAI/Moonshot, ``stream`` true (SSE) or false (JSON);
                                auth ``Authorization: Bearer KEY``
    GET  /v1/models             OpenAI shape; Anthropic shape when the request carries
                                ``anthropic-version`` or ``x-api-key``
    POST /v1/messages           Anthropic Messages API, named SSE events; auth ``x-api-key``
    GET  /v1/users/me/balance   Moonshot balance ``{"code": 0, "data": {available_balance, voucher_balance,
                                cash_balance}, "scode": "0x0", "status": true}`` (404 when `balance` is None)
    POST /v1/tokenizers/estimate-token-count
                                Moonshot token estimate ``{"data": {"total_tokens": N}}`` with N counted
                                exactly as `prompt_tokens` is (words in the messages)
    (the ``/v1`` prefix is optional: ``/chat/completions`` etc. work too)

Interface (attributes may be changed by a test at any time)
    base_url        "http://127.0.0.1:PORT/v1"   (OpenAI/Kimi/openai-compatible base URL)
    root_url        "http://127.0.0.1:PORT"      (Anthropic base URL: the provider appends /v1/…)
    requests        list[RecordedRequest]: .method .path .headers (dict, lower-case names)
                    .json (parsed body or None) .status .started_at .ended_at (time.monotonic);
                    every request is recorded, including errored and interrupted ones
    models          list of model IDs served by /v1/models; any other model → 404
                    (resource_not_found_error / not_found_error)
    valid_keys      set of accepted keys, or None = accept any (even none) → else 401
    responder       callable(request_json) -> reply text; default `echo_reply` (contains the
                    last user message, the model and the system prompt's first line)
    thinker         callable(request_json) -> reasoning text for thinking models
                    (model ID contains "thinking", or Anthropic ``thinking.type == "enabled"``)
    pacing          {model: (ttft_s, chunk_delay_s)}; `default_pacing` for the rest
    fail_next(status, error_type, message="", times=1, headers=None, after_chunks=None,
              path="")
                    the next `times` generation requests (POST chat/messages, or any request whose
                    path contains `path` when given) fail with `status` and the provider's real
                    error body: Moonshot/OpenAI ``{"error": {"message", "type"}}``, Anthropic
                    ``{"type": "error", "error": {"type", "message"}}``. `headers` are added
                    (e.g. ``{"Retry-After": "0"}`` or ``{"retry-after-ms": "10"}``). With
                    `after_chunks=N` the stream starts normally (200) and the error object is
                    sent mid-stream after N content chunks (OpenAI ``data: {"error": …}``,
                    Anthropic ``event: error``), then the stream ends.
    drop_next(times=1)
                    the next `times` generation requests are read, then the connection is
                    closed without any response (a connection failure before the first byte)
    balance         dict served by the balance endpoint (Moonshot's documented example by default),
                    or None → 404 (a server without that endpoint)
    usage_extra     dict, or callable(request_json) -> dict, merged into every usage object: e.g.
                    ``{"cached_tokens": 5}`` (Moonshot top level), ``{"prompt_tokens_details":
                    {"cached_tokens": 5}}``, ``{"completion_tokens_details": {"reasoning_tokens": 3}}``,
                    Anthropic ``{"cache_read_input_tokens": 5, "cache_creation_input_tokens": 2}``
    gate            `tests._fakelimits.RateGate`: ``srv.gate = RateGate(rpm=3, concurrency=1,
                    window_s=…)`` enforces Moonshot-style limits on generation requests (429 with
                    Moonshot's texts); every response carries X-RateLimit-Limit/Remaining/Reset
                    (a high announced limit when nothing is enforced)
    echo_key_shape  one of `tests._fakelimits.ECHO_SHAPES`: generation requests and /v1/models answer
                    with that error shape, quoting the caller's key
    black_hole      True → requests are read and never answered (until the server closes)
    trickle_s       seconds → streamed requests get headers, then only ``: keep-alive`` comments
    canned          {"POST /v1/chat/completions": tests._fakecanned.load("litellm/chat-invalid-model"), …}:
                    that method + path (query ignored; "… MODEL" after the path: only for that
                    model) gets a real server's recorded response bytes (tests/fixtures/interop/),
                    then the connection closes
    reset()         clears requests, queued failures and every switch below.

Stream switches (apply to every streamed response while set)
    fragment        True → the SSE bytes are written in pieces split at random byte offsets
                    (inside lines, inside UTF-8 sequences, inside CRLF), one TCP write each
    keepalive       True → ``: keep-alive`` comment lines before and between events
    line_ending     "\\n" (default), "\\r\\n" or "\\r"
    disconnect_after  N → the socket is closed abruptly after N content chunks
    stall_after     N → after N content chunks nothing more is sent for `stall_s` seconds
                    (default 30; ends early at teardown or `release_stalls()`), then the
                    connection is closed
    usage_style     "auto" (default: a top-level usage chunk when the request asks
                    ``stream_options.include_usage``, else Moonshot style), "moonshot"
                    (usage inside ``choices[0].usage`` of the finishing chunk), "openai" (final
                    chunk with ``choices: []`` and top-level usage), "both", "none"
    send_done       True (default) → ``data: [DONE]`` at the end of OpenAI streams
    finish          False → the stream ends cleanly (terminating HTTP chunk) but without a
                    finish_reason / message_stop and without [DONE]

Usage numbers: prompt_tokens = words in all messages; completion_tokens = number of content
chunks (reasoning chunks included, as Moonshot counts them); total = sum. Reply text is cut into
chunks with `split_chunks` (one word plus its trailing space each), so ``"".join(chunks) == text``.

Default error messages per type are in `DEFAULT_MESSAGES`; a Moonshot-style
"please try again after N seconds" text is used only when you pass it as `message`.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests._fakecanned import Canned, pick, replay
from tests._fakelimits import RateGate, black_hole, echo_key, trickle
from tests._fakewire import (
    DEFAULT_MESSAGES,
    DEFAULT_MODELS,
    anthropic_events,
    count_prompt_words,
    dumps,
    echo_reply,
    extra_usage,
    openai_events,
    split_chunks,
    think_reply,
    usage_counts,
)

__all__ = ["FakeLLMServer", "RecordedRequest", "fake_server", "echo_reply", "split_chunks", "DEFAULT_MODELS"]


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: Any
    started_at: float
    ended_at: float | None = None
    status: int | None = None
    body: bytes = b""


@dataclass
class _Failure:
    status: int
    error_type: str
    message: str
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    after_chunks: int | None = None
    path: str = ""


class _Abort(Exception):
    """Stop writing this response and close the connection."""


class FakeLLMServer:
    """See the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._release = threading.Event()
        self.models: list[str] = list(DEFAULT_MODELS)
        self.valid_keys: set[str] | None = None
        self.responder: Callable[[dict[str, Any]], str] = echo_reply
        self.thinker: Callable[[dict[str, Any]], str] = think_reply
        self.pacing: dict[str, tuple[float, float]] = {}
        self.default_pacing: tuple[float, float] = (0.0, 0.0)
        self.requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._body_cache: dict[Any, bytes] = {}
        self.reset()
        fake = self

        class Handler(_Handler):
            server_ref = fake

        self._httpd = _QuietServer((host, port), Handler)
        self._httpd.daemon_threads = True
        self.port: int = self._httpd.server_address[1]
        self.root_url = f"http://{host}:{self.port}"
        self.base_url = f"{self.root_url}/v1"
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._failures.clear()
        self._drops = 0
        self.fragment = False
        self.keepalive = False
        self.line_ending = "\n"
        self.disconnect_after: int | None = None
        self.stall_after: int | None = None
        self.stall_s = 30.0
        self.usage_style = "auto"
        self.usage_extra: Any = None
        self.balance: dict[str, Any] | None = {"available_balance": 49.58894, "voucher_balance": 46.58893,
                                               "cash_balance": 3.00001}
        self.send_done = True
        self.finish = True
        self.gate = RateGate()
        self.echo_key_shape: str | None = None
        self.black_hole = False
        self.trickle_s: float | None = None
        self.canned: dict[str, Canned] = {}
        self._release.clear()

    def fail_next(
        self,
        status: int,
        error_type: str,
        message: str = "",
        times: int = 1,
        headers: dict[str, str] | None = None,
        after_chunks: int | None = None,
        path: str = "",
    ) -> None:
        with self._lock:
            self._failures.append(
                _Failure(status, error_type, message or DEFAULT_MESSAGES.get(error_type, error_type), times,
                         dict(headers or {}), after_chunks, path)
            )

    def drop_next(self, times: int = 1) -> None:
        with self._lock:
            self._drops += times

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drops > 0:
                self._drops -= 1
                return True
        return False

    def release_stalls(self) -> None:
        self._release.set()

    def start(self) -> FakeLLMServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-llm-server", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals used by the handler --------------------------------------------------
    def _record(self, rec: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(rec)

    def _take_failure(self, path: str, generation: bool) -> _Failure | None:
        with self._lock:
            for f in self._failures:
                if (f.path and f.path in path) or (not f.path and generation):
                    f.times -= 1
                    if f.times <= 0:
                        self._failures.remove(f)
                    return f
        return None

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stop.wait(seconds)
        if self._stop.is_set():
            raise _Abort()


# ------------------------------------------------------------------------------------------
class _QuietServer(ThreadingHTTPServer):
    """Clients hanging up (resets, broken pipes) are normal in these tests: no tracebacks."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_ref: FakeLLMServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return

    # -- plumbing ---------------------------------------------------------------------
    def _begin(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        rec = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            json=parsed,
            started_at=time.monotonic(),
            body=body,
        )
        self.server_ref._record(rec)
        return rec

    def _send_json(self, rec: RecordedRequest, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = dumps(obj).encode()
        rec.status = status
        self._leave_gate()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in {**self.server_ref.gate.headers(), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _start_stream(self, rec: RecordedRequest) -> None:
        rec.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for k, v in self.server_ref.gate.headers().items():
            self.send_header(k, v)
        self.end_headers()

    def _write(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_stream(self) -> None:
        self._leave_gate()
        self.wfile.write(b"0\r\n\r\n")

    def _error_body(self, anthropic: bool, error_type: str, message: str) -> dict[str, Any]:
        if anthropic:
            return {"type": "error", "error": {"type": error_type, "message": message}}
        return {"error": {"message": message, "type": error_type}}

    # -- routing ----------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        rec = self._begin()
        try:
            path = self.path.split("?", 1)[0].rstrip("/")
            anthropic = "anthropic-version" in rec.headers or "x-api-key" in rec.headers
            canned = pick(self.server_ref.canned, "GET", path, None)
            if canned is not None:
                replay(self, rec, canned, self.server_ref._stop)
                return
            if self.server_ref.black_hole:
                black_hole(self.server_ref._stop)
                self.close_connection = True
                return
            if self.server_ref.echo_key_shape and path in ("/v1/models", "/models"):
                echo_key(self, rec, anthropic, self.server_ref.echo_key_shape, self._key(rec, anthropic) or "", False)
                return
            if path in ("/v1/users/me/balance", "/users/me/balance") and self.server_ref.balance is not None:
                if not self._refuse(rec, False, generation=False):
                    self._send_json(rec, 200, {"code": 0, "data": dict(self.server_ref.balance), "scode": "0x0",
                                               "status": True})
                return
            if path not in ("/v1/models", "/models"):
                self._send_json(rec, 404, self._error_body(anthropic, "not_found_error" if anthropic else "resource_not_found_error", f"no route {path}"))
                return
            if self._refuse(rec, anthropic, generation=False):
                return
            srv = self.server_ref
            if anthropic:
                data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"} for m in srv.models]
                self._send_json(rec, 200, {"data": data, "has_more": False,
                                           "first_id": data[0]["id"] if data else None,
                                           "last_id": data[-1]["id"] if data else None})
            else:
                data = [{"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "fake"} for m in srv.models]
                self._send_json(rec, 200, {"object": "list", "data": data})
        finally:
            rec.ended_at = time.monotonic()

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        rec = self._begin()
        try:
            path = self.path.split("?", 1)[0].rstrip("/")
            if self.server_ref._take_drop():
                raise _Abort()
            canned = pick(self.server_ref.canned, "POST", path, rec.json)
            if canned is not None:
                replay(self, rec, canned, self.server_ref._stop)
                return
            if self.server_ref.black_hole:
                black_hole(self.server_ref._stop)
                raise _Abort()
            if path in ("/v1/chat/completions", "/chat/completions"):
                self._chat(rec, anthropic=False)
            elif path in ("/v1/messages", "/messages"):
                self._chat(rec, anthropic=True)
            elif path in ("/v1/tokenizers/estimate-token-count", "/tokenizers/estimate-token-count"):
                if not self._refuse(rec, False, generation=False):
                    req = rec.json if isinstance(rec.json, dict) else {}
                    self._send_json(rec, 200, {"data": {"total_tokens": count_prompt_words(req)}})
            else:
                self._send_json(rec, 404, self._error_body(False, "resource_not_found_error", f"no route {path}"))
        except (_Abort, ConnectionError, OSError):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        finally:
            rec.ended_at = time.monotonic()

    def _key(self, rec: RecordedRequest, anthropic: bool) -> str | None:
        if anthropic and "x-api-key" in rec.headers:
            return rec.headers["x-api-key"]
        auth = rec.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None

    def _refuse(self, rec: RecordedRequest, anthropic: bool, generation: bool) -> bool:
        """Auth and queued failures; True when an error response was sent."""
        srv = self.server_ref
        if srv.valid_keys is not None and self._key(rec, anthropic) not in srv.valid_keys:
            etype = "authentication_error" if anthropic else "invalid_authentication_error"
            self._send_json(rec, 401, self._error_body(anthropic, etype, DEFAULT_MESSAGES[etype]))
            return True
        fail = srv._take_failure(rec.path, generation)
        if fail is None:
            return False
        if fail.after_chunks is not None:
            self._midstream = fail
            return False
        self._send_json(rec, fail.status, self._error_body(anthropic, fail.error_type, fail.message), fail.headers)
        return True

    def _chat(self, rec: RecordedRequest, anthropic: bool) -> None:
        srv = self.server_ref
        stream = isinstance(rec.json, dict) and bool(rec.json.get("stream"))
        if srv.echo_key_shape:
            echo_key(self, rec, anthropic, srv.echo_key_shape, self._key(rec, anthropic) or "", stream)
            return
        refusal = srv.gate.enter()
        if refusal is not None:
            etype = "rate_limit_error" if anthropic else "rate_limit_reached_error"
            self._send_json(rec, 429, self._error_body(anthropic, etype, refusal))
            return
        self._in_gate = True
        try:
            if srv.trickle_s and stream:
                trickle(self, rec, srv.trickle_s, srv._stop)
                return
            self._chat_body(rec, anthropic)
        finally:
            self._leave_gate()

    def _leave_gate(self) -> None:
        """A request stops counting as concurrent before its last byte is written (so a client that
        starts the next one on that byte never races the server's own bookkeeping)."""
        if getattr(self, "_in_gate", False):
            self._in_gate = False
            self.server_ref.gate.leave()

    def _chat_body(self, rec: RecordedRequest, anthropic: bool) -> None:
        self._midstream: _Failure | None = None
        req = rec.json
        if not isinstance(req, dict):
            self._send_json(rec, 400, self._error_body(anthropic, "invalid_request_error", "request body is not valid JSON"))
            return
        if self._refuse(rec, anthropic, generation=True):
            return
        srv = self.server_ref
        model = str(req.get("model") or "")
        if model not in srv.models:
            etype = "not_found_error" if anthropic else "resource_not_found_error"
            msg = f"model: {model}" if anthropic else f"Not found the model {model} or Permission denied"
            self._send_json(rec, 404, self._error_body(anthropic, etype, msg))
            return
        thinking = "thinking" in model or (anthropic and (req.get("thinking") or {}).get("type") == "enabled")
        text = srv.responder(req)
        reasoning = srv.thinker(req) if thinking else ""
        if not req.get("stream"):
            self._non_stream(rec, req, anthropic, model, text, reasoning)
            return
        if anthropic:
            events = anthropic_events(req, model, text, reasoning, finish=srv.finish, usage_extra=srv.usage_extra)
        else:
            events = openai_events(req, model, text, reasoning, finish=srv.finish, usage_style=srv.usage_style,
                                   send_done=srv.send_done, usage_extra=srv.usage_extra)
        self._stream(rec, req, model, events)

    def _non_stream(self, rec: RecordedRequest, req: dict[str, Any], anthropic: bool, model: str, text: str, reasoning: str) -> None:
        srv = self.server_ref
        ttft, _ = srv.pacing.get(model, srv.default_pacing)
        srv._sleep(ttft)
        prompt, completion = usage_counts(req, text, reasoning)
        if anthropic:
            content: list[dict[str, Any]] = []
            if reasoning:
                content.append({"type": "thinking", "thinking": reasoning, "signature": "sig"})
            content.append({"type": "text", "text": text})
            body: dict[str, Any] = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
                                    "content": content, "stop_reason": "end_turn", "stop_sequence": None,
                                    "usage": {"input_tokens": prompt, "output_tokens": completion,
                                              **extra_usage(req, srv.usage_extra)}}
        else:
            message: dict[str, Any] = {"role": "assistant", "content": text}
            if reasoning:
                message["reasoning_content"] = reasoning
            body = {"id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000, "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                              "total_tokens": prompt + completion, **extra_usage(req, srv.usage_extra)}}
        self._send_json(rec, 200, body)

    # -- event builders: yield (is_content_chunk, sse_event_text_without_terminator) ----
    def _fast_path(self) -> bool:
        srv = self.server_ref
        return not (srv.fragment or srv.disconnect_after is not None or srv.stall_after is not None)

    def _stream(self, rec: RecordedRequest, req: dict[str, Any], model: str, events: Iterator[tuple[bool, str]]) -> None:
        srv = self.server_ref
        ttft, delay = srv.pacing.get(model, srv.default_pacing)
        nl = srv.line_ending
        sep = nl + nl
        keep = (": keep-alive" + sep) if srv.keepalive else ""
        anthropic = "/messages" in rec.path
        mid = self._midstream
        self._start_stream(rec)
        if ttft == 0 and delay == 0 and mid is None and self._fast_path():
            # Bench path: pre-encoded body, written in large pieces.
            key = (tuple(sorted(req.items(), key=lambda kv: kv[0])).__repr__(), nl, keep, srv.usage_style,
                   srv.send_done, srv.finish, srv.responder, srv.thinker, repr(srv.usage_extra))
            body = srv._body_cache.get(key)
            if body is None:
                parts = [keep + (ev.replace("\n", nl) if nl != "\n" else ev) + sep for _, ev in events]
                body = "".join(parts).encode()
                if len(srv._body_cache) > 32:
                    srv._body_cache.clear()
                srv._body_cache[key] = body
            view = memoryview(body)
            step = 1 << 16
            for i in range(0, len(body), step):
                self._write(bytes(view[i:i + step]))
            self._end_stream()
            return
        srv._sleep(ttft)
        rng = random.Random(len(srv.requests))
        content = 0
        pending = b""
        for is_content, ev in events:
            if is_content:
                if mid is not None and content >= (mid.after_chunks or 0):
                    break
                if srv.disconnect_after is not None and content >= srv.disconnect_after:
                    self._flush(pending, rng)
                    raise _Abort()
                if srv.stall_after is not None and content >= srv.stall_after:
                    self._flush(pending, rng)
                    srv._release.wait(srv.stall_s)
                    raise _Abort()
                if content and delay:
                    self._flush(pending, rng)
                    pending = b""
                    srv._sleep(delay)
                content += 1
            data = (keep + (ev.replace("\n", nl) if nl != "\n" else ev) + sep).encode()
            pending += data
            if delay or srv.fragment:
                self._flush(pending, rng)
                pending = b""
        if mid is not None:
            err = self._error_body(anthropic, mid.error_type, mid.message)
            text = (f"event: error{nl}data: {dumps(err)}" if anthropic else f"data: {dumps(err)}") + sep
            pending += text.encode()
        self._flush(pending, rng)
        self._end_stream()

    def _flush(self, data: bytes, rng: random.Random) -> None:
        if not data:
            return
        if not self.server_ref.fragment:
            self._write(data)
            return
        pos = 0
        while pos < len(data):
            step = rng.randint(1, 7)
            self._write(data[pos:pos + step])
            pos += step
            time.sleep(0.0002)


@pytest.fixture
def fake_server() -> Iterator[FakeLLMServer]:
    """A running `FakeLLMServer` on 127.0.0.1:0, shut down at teardown."""
    srv = FakeLLMServer().start()
    try:
        yield srv
    finally:
        srv.close()
