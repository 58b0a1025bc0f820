"""Fake-server scenarios for limits and hostile servers (used by tests/fakeserver.py).

`RateGate`   enforces requests-per-window and concurrency on generation requests the way
             Moonshot does: a refused request gets 429 ``rate_limit_reached_error`` with
             Moonshot's own texts ("request reached organization max RPM: 3, please try again
             after 1 seconds", "request reached max organization concurrency: 1, …"), and every
             response carries ``X-RateLimit-Limit/Remaining/Reset`` (Moonshot documents these
             headers; with no limit set the fake announces a high one, `OPEN_LIMIT`).
             `window_s` lets tests shrink the minute.
`echo_key`   writes one of `ECHO_SHAPES`: every way an error can come back, each quoting the
             caller's API key (as some servers echo it), to prove the key never leaks.
`trickle`    opens a stream and then sends only ``: keep-alive`` comments, forever.
`black_hole` accepts the request and never answers.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from typing import Any, Protocol

__all__ = ["RateGate", "ECHO_SHAPES", "echo_key", "trickle", "black_hole", "OPEN_LIMIT"]

#: What the fake announces when it enforces nothing (a high Moonshot tier).
OPEN_LIMIT = 10000

ECHO_SHAPES = (
    "json_message",  # 401 with the key in error.message (OpenAI / Anthropic body)
    "json_type",  # 400 with the key in error.type
    "fastapi_detail",  # 422 {"detail": "... key ..."}
    "rate_limited",  # 429 with the key in the message (retried, then raised)
    "not_found",  # 404 model not found, key in the message
    "text_body",  # 502 text/plain quoting the key
    "html_page",  # 503 HTML error page quoting the key
    "non_json_200",  # 200 application/json whose body is not JSON
    "bad_event",  # 200 stream with a data line that is not JSON
    "stream_error",  # 200 stream, one chunk, then an error event quoting the key
    "html_stream",  # 200 text/html in place of a stream
    "json_instead_of_stream",  # 200 JSON error object in place of a stream
)


class _Handler(Protocol):
    wfile: Any
    server_ref: Any

    def send_response(self, code: int, message: str | None = None) -> None: ...
    def send_header(self, keyword: str, value: str) -> None: ...
    def end_headers(self) -> None: ...


class RateGate:
    """Requests per window and concurrency, enforced on generation requests (thread-safe)."""

    def __init__(self, rpm: int | None = None, concurrency: int | None = None, window_s: float = 60.0) -> None:
        self.rpm = rpm
        self.concurrency = concurrency
        self.window_s = window_s
        self.retry_after = "1"  # seconds, as Moonshot's texts say
        self._lock = threading.Lock()
        self._starts: deque[float] = deque()
        self.active = 0
        self.max_active = 0
        self.refused = 0

    def _trim(self, now: float) -> None:
        while self._starts and self._starts[0] <= now - self.window_s:
            self._starts.popleft()

    def enter(self) -> str | None:
        """Admit a request (None) or return the 429 message that refuses it."""
        with self._lock:
            now = time.monotonic()
            self._trim(now)
            if self.concurrency is not None and self.active >= self.concurrency:
                self.refused += 1
                return (f"Your account org-fake<ak-fake> request reached max organization concurrency: "
                        f"{self.concurrency}, please try again after {self.retry_after} seconds")
            if self.rpm is not None and len(self._starts) >= self.rpm:
                self.refused += 1
                return (f"Your account org-fake<ak-fake> request reached organization max RPM: {self.rpm}, "
                        f"please try again after {self.retry_after} seconds")
            self._starts.append(now)
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            return None

    def leave(self) -> None:
        with self._lock:
            self.active -= 1

    def headers(self) -> dict[str, str]:
        with self._lock:
            now = time.monotonic()
            self._trim(now)
            limit = self.rpm if self.rpm is not None else OPEN_LIMIT
            remaining = max(0, limit - len(self._starts))
            reset = (self._starts[0] + self.window_s - now) if self._starts else self.window_s
            return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                    "X-RateLimit-Reset": f"{math.ceil(max(0.0, reset) * 1000) / 1000:.3f}"}  # never early


def _raw(h: _Handler, status: int, ctype: str, body: bytes, extra: dict[str, str] | None = None) -> None:
    h.send_response(status)
    h.send_header("Content-Type", ctype)
    h.send_header("Content-Length", str(len(body)))
    for k, v in {**h.server_ref.gate.headers(), **(extra or {})}.items():  # like every answer of the fake
        h.send_header(k, v)
    h.end_headers()
    h.wfile.write(body)


def _err(anthropic: bool, etype: str, message: str) -> dict[str, Any]:
    if anthropic:
        return {"type": "error", "error": {"type": etype, "message": message}}
    return {"error": {"message": message, "type": etype}}


def _stream(h: _Handler, events: list[str]) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "text/event-stream; charset=utf-8")
    h.send_header("Transfer-Encoding", "chunked")
    for k, v in h.server_ref.gate.headers().items():
        h.send_header(k, v)
    h.end_headers()
    for ev in events:
        data = (ev + "\n\n").encode()
        h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
    h.wfile.write(b"0\r\n\r\n")


def echo_key(h: _Handler, rec: Any, anthropic: bool, shape: str, key: str, stream: bool) -> None:
    """Answer with `shape`, quoting `key` (see `ECHO_SHAPES`); sets `rec.status`."""
    js = "application/json"
    said = f"Incorrect API key provided: {key}"
    status = 200
    if shape == "json_message":
        status = 401
        _raw(h, 401, js, json.dumps(_err(anthropic, "authentication_error" if anthropic
                                         else "invalid_authentication_error", said)).encode())
    elif shape == "json_type":
        status = 400
        _raw(h, 400, js, json.dumps(_err(anthropic, f"invalid_{key}", "bad request")).encode())
    elif shape == "fastapi_detail":
        status = 422
        _raw(h, 422, js, json.dumps({"detail": f"value error: key {key} is not allowed"}).encode())
    elif shape == "rate_limited":
        status = 429
        _raw(h, 429, js, json.dumps(_err(anthropic, "rate_limit_error" if anthropic else "rate_limit_reached_error",
                                         f"Your account <{key}> request reached organization max RPM: 9000")).encode(),
             {"Retry-After": "0"})
    elif shape == "not_found":
        status = 404
        _raw(h, 404, js, json.dumps(_err(anthropic, "not_found_error" if anthropic else "resource_not_found_error",
                                         f"Not found the model for key {key}")).encode())
    elif shape == "text_body":
        status = 502
        _raw(h, 502, "text/plain", f"upstream said: {said}".encode())
    elif shape == "html_page":
        status = 503
        _raw(h, 503, "text/html", f"<html><body><h1>503</h1><p>{said}</p></body></html>".encode())
    elif shape == "non_json_200" or (not stream and shape == "bad_event"):
        _raw(h, 200, js, f"not json at all {key}".encode())
    elif shape == "bad_event":
        _stream(h, [f"data: {key} is not json"])
    elif shape == "stream_error" and stream:
        chunk = {"choices": [{"index": 0, "delta": {"content": "Hello "}, "finish_reason": None}]}
        if anthropic:
            _stream(h, ['event: message_start\ndata: {"type": "message_start", "message": {"usage": {}}}',
                        'event: content_block_delta\ndata: {"type": "content_block_delta", "delta": '
                        '{"type": "text_delta", "text": "Hello "}}',
                        "event: error\ndata: " + json.dumps(_err(True, "api_error", said))])
        else:
            _stream(h, ["data: " + json.dumps(chunk), "data: " + json.dumps(_err(False, "server_error", said))])
    elif shape == "html_stream" or (shape == "stream_error" and not stream):
        _raw(h, 200, "text/html", f"<html><body>Login required. {said}</body></html>".encode())
    elif shape == "json_instead_of_stream":
        _raw(h, 200, js, json.dumps(_err(anthropic, "server_error" if not anthropic else "api_error", said)).encode())
    else:  # pragma: no cover - a typo in a test
        raise ValueError(f"unknown echo shape {shape!r}; shapes: {', '.join(ECHO_SHAPES)}")
    rec.status = status


def trickle(h: _Handler, rec: Any, every: float, stop: threading.Event) -> None:
    """A stream that never says anything: a keep-alive comment every `every` seconds until `stop`."""
    rec.status = 200
    h.send_response(200)
    h.send_header("Content-Type", "text/event-stream; charset=utf-8")
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    data = b": keep-alive\n\n"
    while not stop.wait(every):
        h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        h.wfile.flush()


def black_hole(stop: threading.Event) -> None:
    """Hold the connection without ever answering (until the server closes)."""
    stop.wait()
