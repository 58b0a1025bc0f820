"""Record real servers' exact response bytes into tests/fixtures/interop/ (run by hand, not by pytest).

Each fixture is the raw HTTP/1.1 response as it came off the socket (status line, headers, body,
chunked framing included), so `tests/_fakecanned.py` can replay it byte for byte to our providers.
Start the servers first (see tests/fixtures/interop/README.md for the exact commands), then::

    python tests/interop/record_fixtures.py litellm http://127.0.0.1:4011
    python tests/interop/record_fixtures.py llama-server http://127.0.0.1:4030
    python tests/interop/record_fixtures.py llama-cpp-python http://127.0.0.1:4040

`INDEX.json` keeps, per fixture, the request that produced it and the server it came from.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "interop"
MASTER = "sk-interop-master"  # LiteLLM master key used by tests/interop (not a secret)
LLAMA_KEY = "sk-llama-interop"  # llama-server / llama-cpp-python --api-key in the recordings

Spec = dict[str, Any]

LITELLM: list[Spec] = [
    {"name": "models", "method": "GET", "path": "/v1/models", "headers": {"Authorization": f"Bearer {MASTER}"}},
    {"name": "models-anthropic", "method": "GET", "path": "/v1/models?limit=1000",
     "headers": {"x-api-key": MASTER, "anthropic-version": "2023-06-01"}},
    {"name": "chat-stream", "method": "POST", "path": "/v1/chat/completions",
     "headers": {"Authorization": f"Bearer {MASTER}"},
     "body": {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}], "stream": True,
              "stream_options": {"include_usage": True}}},
    {"name": "chat", "method": "POST", "path": "/v1/chat/completions", "headers": {"Authorization": f"Bearer {MASTER}"},
     "body": {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}], "stream": False}},
    {"name": "chat-invalid-model", "method": "POST", "path": "/v1/chat/completions",
     "headers": {"Authorization": f"Bearer {MASTER}"},
     "body": {"model": "mock-gtp", "messages": [{"role": "user", "content": "hi"}], "stream": True}},
    {"name": "messages-invalid-model", "method": "POST", "path": "/v1/messages",
     "headers": {"x-api-key": MASTER, "anthropic-version": "2023-06-01"},
     "body": {"model": "mock-claud", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], "stream": True}},
    {"name": "chat-backend-died", "method": "POST", "path": "/v1/chat/completions",
     "headers": {"Authorization": f"Bearer {MASTER}"},
     "body": {"model": "dying", "messages": [{"role": "user", "content": "tell me a story"}], "stream": True,
              "stream_options": {"include_usage": True}}},
    {"name": "messages-backend-died", "method": "POST", "path": "/v1/messages",
     "headers": {"x-api-key": MASTER, "anthropic-version": "2023-06-01"},
     "body": {"model": "dying-anthropic", "max_tokens": 100, "messages": [{"role": "user", "content": "tell me a story"}],
              "stream": True}},
    {"name": "messages-stream-mock", "method": "POST", "path": "/v1/messages",
     "headers": {"x-api-key": MASTER, "anthropic-version": "2023-06-01"},
     "body": {"model": "mock-claude", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], "stream": True}},
    {"name": "no-route-detail", "method": "GET", "path": "/v1/no-such-route", "headers": {"Authorization": f"Bearer {MASTER}"}},
    {"name": "chat-wrong-key", "method": "POST", "path": "/v1/chat/completions",
     "headers": {"Authorization": "Bearer sk-not-the-master-key"},
     "body": {"model": "mock-gpt", "messages": [{"role": "user", "content": "hi"}], "stream": True}},
]

LLAMA_SERVER: list[Spec] = [
    {"name": "models-aliases", "method": "GET", "path": "/v1/models", "headers": {"Authorization": f"Bearer {LLAMA_KEY}"}},
    {"name": "chat-stream-alias", "method": "POST", "path": "/v1/chat/completions",
     "headers": {"Authorization": f"Bearer {LLAMA_KEY}"},
     "body": {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}], "stream": True,
              "stream_options": {"include_usage": True}, "max_tokens": 6}},
    {"name": "chat-alias", "method": "POST", "path": "/v1/chat/completions", "headers": {"Authorization": f"Bearer {LLAMA_KEY}"},
     "body": {"model": "tiny-chat", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 6}},
    {"name": "chat-wrong-key", "method": "POST", "path": "/v1/chat/completions", "headers": {"Authorization": "Bearer wrong"},
     "body": {"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "stream": True}},
    {"name": "chat-context-overflow", "method": "POST", "path": "/v1/chat/completions",
     "headers": {"Authorization": f"Bearer {LLAMA_KEY}"},
     "body": {"model": "tiny", "messages": [{"role": "user", "content": "hello " * 400}], "stream": True}},
]

LLAMA_CPP_PYTHON: list[Spec] = [
    {"name": "models", "method": "GET", "path": "/v1/models", "headers": {"Authorization": f"Bearer {LLAMA_KEY}"}},
    {"name": "chat-wrong-key-detail", "method": "POST", "path": "/v1/chat/completions",
     "headers": {"Authorization": "Bearer wrong"},
     "body": {"model": "tiny-py", "messages": [{"role": "user", "content": "hi"}], "stream": True}},
    {"name": "chat-context-overflow-empty-stream", "method": "POST", "path": "/v1/chat/completions",
     "headers": {"Authorization": f"Bearer {LLAMA_KEY}"},
     "body": {"model": "tiny-py", "messages": [{"role": "user", "content": "hello " * 400}], "stream": True}},
    {"name": "chat-validation-500", "method": "POST", "path": "/v1/chat/completions",
     "headers": {"Authorization": f"Bearer {LLAMA_KEY}"},
     "body": {"model": "tiny-py", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}},
    # A second streamed request while the first streams: with the default interrupt_requests the
    # first one gets keep-alive pings only, forever (recorded for 35 s: two pings).
    {"name": "chat-stream-wedged", "method": "POST", "path": "/v1/chat/completions",
     "headers": {"Authorization": f"Bearer {LLAMA_KEY}"}, "max_s": 35.0,
     "then": {"method": "POST", "path": "/v1/chat/completions", "headers": {"Authorization": f"Bearer {LLAMA_KEY}"},
              "body": {"model": "tiny-py", "messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 3},
              "after_s": 2.0},
     "body": {"model": "tiny-py", "messages": [{"role": "user", "content": "hi"}], "stream": True, "max_tokens": 3000,
              "logit_bias": {"4": -100, "2": -100}}},
]

SERVERS = {"litellm": LITELLM, "llama-server": LLAMA_SERVER, "llama-cpp-python": LLAMA_CPP_PYTHON}


def raw_request(host: str, port: int, spec: Spec) -> bytes:
    """Send one request over a plain socket; return the exact response bytes (until close or max_s)."""
    body = json.dumps(spec["body"]).encode() if "body" in spec else b""
    head = f"{spec['method']} {spec['path']} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
    for k, v in spec.get("headers", {}).items():
        head += f"{k}: {v}\r\n"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    s = socket.create_connection((host, port))
    s.sendall(head.encode() + b"\r\n" + body)
    max_s = float(spec.get("max_s", 60.0))
    s.settimeout(max_s)
    t0 = time.monotonic()
    parts: list[bytes] = []
    try:
        while time.monotonic() - t0 < max_s:
            s.settimeout(max(0.01, max_s - (time.monotonic() - t0)))
            b = s.recv(65536)
            if not b:
                break
            parts.append(b)
    except socket.timeout:
        pass
    s.close()
    return b"".join(parts)


def record(server: str, base: str) -> None:
    u = urlsplit(base)
    host, port = u.hostname or "127.0.0.1", u.port or 80
    folder = OUT / server
    folder.mkdir(parents=True, exist_ok=True)
    index_path = OUT / "INDEX.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    for spec in SERVERS[server]:
        then = spec.get("then")
        if then:
            threading.Timer(then["after_s"], lambda t=then: raw_request(host, port, {**t, "max_s": 5.0})).start()
        data = raw_request(host, port, spec)
        (folder / f"{spec['name']}.http").write_bytes(data)
        index[f"{server}/{spec['name']}.http"] = {k: v for k, v in spec.items() if k != "name"}
        print(f"{server}/{spec['name']}.http: {len(data)} bytes, {data.split(b' ', 2)[1].decode()}")
    index_path.write_text(json.dumps(dict(sorted(index.items())), indent=1) + "\n")


if __name__ == "__main__":
    record(sys.argv[1], sys.argv[2])
