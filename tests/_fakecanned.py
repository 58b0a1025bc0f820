"""Replay real servers' recorded responses byte for byte (used by tests/fakeserver.py).

The fixtures in ``tests/fixtures/interop/<server>/<name>.http`` are raw HTTP/1.1 responses as they
came off the socket from LiteLLM, llama.cpp's ``llama-server`` and llama-cpp-python (recorded by
``tests/interop/record_fixtures.py``; the request behind each is in ``INDEX.json``). Set
``srv.canned = {"POST /v1/chat/completions": load("litellm/chat-invalid-model")}`` and that request
gets those bytes — status line, headers, chunk framing and all — then the connection closes. A key
with the request's model after the path (``"POST /v1/chat/completions mock-gtp"``) wins over one without.

A recording cut while the server was still sending (a wedged server's keep-alive pings) has no
terminating chunk; ``repeat_last=True`` keeps re-sending its last chunk every `every` seconds, as
the server did, until the fake server closes. `every` also paces every chunk after the first
data, so a 15 s ping interval can be replayed at test speed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FIXTURES", "Canned", "load", "pick", "replay"]

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "interop"


@dataclass(frozen=True)
class Canned:
    """One recorded response: `head` (status line + headers + blank line) and the body in pieces
    (one per HTTP chunk, framing included; one piece for a Content-Length body)."""

    name: str
    head: bytes
    pieces: tuple[bytes, ...]
    repeat_last: bool = False
    every: float = 0.0

    @property
    def status(self) -> int:
        return int(self.head.split(b" ", 2)[1])

    @property
    def raw(self) -> bytes:
        return self.head + b"".join(self.pieces)

    def body(self) -> bytes:
        """The body without chunk framing (what a client reads)."""
        if not self.chunked:
            return b"".join(self.pieces)
        out = []
        for piece in self.pieces:
            size_line, _, rest = piece.partition(b"\r\n")
            out.append(rest[: int(size_line.split(b";")[0], 16)])
        return b"".join(out)

    @property
    def chunked(self) -> bool:
        return b"transfer-encoding: chunked" in self.head.lower()


def _split_chunks(body: bytes) -> list[bytes]:
    """Chunked body → its chunks, each with its own size line and CRLF (exact bytes kept)."""
    pieces: list[bytes] = []
    i = 0
    while i < len(body):
        eol = body.index(b"\r\n", i)
        size = int(body[i:eol].split(b";")[0], 16)
        end = eol + 2 + size + 2
        if size == 0:
            end = len(body)  # the last chunk, plus any trailers and the final CRLF
        pieces.append(body[i:end])
        i = end
    return pieces


def load(name: str, *, repeat_last: bool = False, every: float = 0.0) -> Canned:
    """The fixture ``tests/fixtures/interop/<name>.http``."""
    raw = (FIXTURES / f"{name}.http").read_bytes()
    head, sep, body = raw.partition(b"\r\n\r\n")
    head += sep
    chunked = b"transfer-encoding: chunked" in head.lower()
    pieces = _split_chunks(body) if chunked else [body]
    return Canned(name, head, tuple(p for p in pieces if p), repeat_last, every)


def pick(canned: dict[str, Canned], method: str, path: str, body: Any) -> Canned | None:
    """The recording for this request: by method, path and model first, then by method and path."""
    if not canned:
        return None
    model = body.get("model") if isinstance(body, dict) else None
    return canned.get(f"{method} {path} {model}") or canned.get(f"{method} {path}")


def replay(handler: Any, rec: Any, canned: Canned, stop: threading.Event) -> None:
    """Write `canned` to the client exactly as recorded; the connection is closed afterwards."""
    rec.status = canned.status
    wfile = handler.wfile
    wfile.write(canned.head)
    wfile.flush()
    for i, piece in enumerate(canned.pieces):
        if i and canned.every and stop.wait(canned.every):
            break
        wfile.write(piece)
        wfile.flush()
    if canned.repeat_last and canned.pieces:
        last = canned.pieces[-1]
        while not stop.wait(canned.every or 0.05):
            wfile.write(last)
            wfile.flush()
    handler.close_connection = True
