"""Recording: write every provider call's stream to a JSONL cassette for the `replay` provider.

While recording is on, a wrapper sits in `providers.registry.PROVIDER_WRAPPERS`, so every
provider `get_provider` builds records its requests: the key-free request fingerprint (model,
messages, params that change the answer — never the key, headers or base URL) and each chunk
with its time since the request started. Interactions are appended as they finish, so parallel
streams and crashes leave a valid file. Streams abandoned half-way (interrupt, cancel) are not
written: replaying a truncated answer would mislead. Format: see `llm_magics.providers.replay`.

    with record("session.jsonl"):
        discuss("Ship on Friday?", ["Noor Okafor", "Sasha Lindqvist"])
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llm_magics.errors import ConfigurationError, LLMError, ModelNotFoundError, StreamInterrupted
from llm_magics.providers.registry import PROVIDER_WRAPPERS
from llm_magics.providers.base import Chunk, Completion, Message, Provider
from llm_magics.providers.replay import CASSETTE_FORMAT, CASSETTE_VERSION, Interaction, normalize_request

__all__ = ["Recorder", "record", "start_recording", "stop_recording", "recording", "wrap_provider"]

_lock = threading.Lock()
_active: Recorder | None = None
# Set while a recorded `complete` runs, so the stream it may call underneath is not recorded twice.
_in_complete: contextvars.ContextVar[bool] = contextvars.ContextVar("llm_magics_in_complete", default=False)


class Recorder:
    """Appends interactions to one cassette file; thread-safe (streams finish on any thread)."""

    def __init__(self, path: str | Path, *, overwrite: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.count = 0
        self.closed = False
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if overwrite or not self.path.exists() or self.path.stat().st_size == 0:
            header = {
                "type": "header",
                "format": CASSETTE_FORMAT,
                "version": CASSETTE_VERSION,
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            }
            self.path.write_text(json.dumps(header) + "\n", encoding="utf-8")

    def remember_secret(self, provider: Provider) -> None:
        if provider.key is not None and provider.key.secret:
            self._secrets.add(provider.key.secret.reveal())

    def write(self, inter: Interaction) -> None:
        line = json.dumps(inter.to_json(), ensure_ascii=False)
        for secret in self._secrets:  # belt and braces: a key pasted into a prompt is masked too
            if secret and secret in line:
                from llm_magics.providers.base import mask_key

                line = line.replace(secret, mask_key(secret))
        with self._lock:
            if self.closed:
                return
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
            self.count += 1

    def close(self) -> None:
        with self._lock:
            self.closed = True

    def __repr__(self) -> str:
        state = "closed" if self.closed else "recording"
        return f"<Recorder {state} {self.path} ({self.count} requests)>"


class _Take:
    """One request being recorded: chunk times are relative to the request's start."""

    def __init__(self, provider: Provider, messages: Sequence[Message], model: str | None, params: dict[str, Any]) -> None:
        try:
            self.model = provider.resolve_model(model)
        except LLMError:
            self.model = model or ""
        self.provider = provider.name
        self.request = normalize_request(messages, params)
        self.chunks: list[dict[str, Any]] = []
        self.t0 = time.monotonic()

    def add(self, chunk: Chunk, at: float | None = None) -> None:
        t = (time.monotonic() if at is None else at) - self.t0
        item: dict[str, Any] = {"t": round(max(t, 0.0), 4)}
        if chunk.text:
            item["text"] = chunk.text
        if chunk.reasoning:
            item["reasoning"] = chunk.reasoning
        if chunk.finish_reason:
            item["finish_reason"] = chunk.finish_reason
        if chunk.usage is not None:
            item["usage"] = chunk.usage.to_dict()
        self.chunks.append(item)

    def interaction(self, exc: LLMError | None = None) -> Interaction:
        error: dict[str, Any] | None = None
        if exc is not None:
            error = {
                "class": type(exc).__name__,
                "message": exc.message,
                "provider": exc.provider,
                "status": exc.status,
                "error_type": exc.error_type,
                "hint": exc.hint,
            }
            if isinstance(exc, ModelNotFoundError):
                error["suggestions"] = exc.suggestions
            if isinstance(exc, StreamInterrupted) and exc.partial_text and not any("text" in c for c in self.chunks):
                self.chunks.append({"t": round(time.monotonic() - self.t0, 4), "text": exc.partial_text})
        return Interaction(self.provider, self.model, self.request, self.chunks, error)


def wrap_provider(provider: Provider, recorder: Recorder | None = None) -> Provider:
    """Make `provider` record its calls into `recorder` (default: the active one). Idempotent.

    The instance is patched rather than proxied, so `isinstance`, attributes and the
    provider's own `complete` keep working exactly as before.
    """
    rec = recorder or _active
    if rec is None or getattr(provider, "_llm_magics_recorder", None) is rec:
        return provider
    rec.remember_secret(provider)
    inner_stream = provider.stream
    inner_complete = provider.complete
    own_complete = type(provider).complete is not Provider.complete

    async def stream(messages: Sequence[Message], *, model: str | None = None, **params: Any) -> AsyncIterator[Chunk]:
        if rec.closed or _in_complete.get():
            async for chunk in inner_stream(messages, model=model, **params):
                yield chunk
            return
        take = _Take(provider, messages, model, params)
        try:
            async for chunk in inner_stream(messages, model=model, **params):
                take.add(chunk)
                yield chunk
        except LLMError as exc:
            rec.write(take.interaction(exc))
            raise
        rec.write(take.interaction())

    async def complete(messages: Sequence[Message], *, model: str | None = None, **params: Any) -> Completion:
        if rec.closed:
            return await inner_complete(messages, model=model, **params)
        take = _Take(provider, messages, model, params)
        token = _in_complete.set(True)
        try:
            result = await inner_complete(messages, model=model, **params)
        except LLMError as exc:
            rec.write(take.interaction(exc))
            raise
        finally:
            _in_complete.reset(token)
        if result.ttft_s is not None and (result.reasoning or result.text):
            first = Chunk(reasoning=result.reasoning) if result.reasoning else Chunk(text=result.text)
            take.add(first, take.t0 + result.ttft_s)
            if result.reasoning:
                take.add(Chunk(text=result.text))
        else:
            take.add(Chunk(text=result.text, reasoning=result.reasoning))
        take.add(Chunk(finish_reason=result.finish_reason, usage=result.usage))
        rec.write(take.interaction())
        return result

    provider.stream = stream  # type: ignore[method-assign]
    if own_complete:  # the default `complete` goes through `stream`, recorded above
        provider.complete = complete  # type: ignore[method-assign]
    provider._llm_magics_recorder = rec  # type: ignore[attr-defined]
    return provider


def _wrapper(provider: Provider) -> Provider:
    return wrap_provider(provider)


def start_recording(path: str | Path, *, overwrite: bool = False) -> Recorder:
    """Record every provider built from now on (by `get_provider`) into the cassette at `path`."""
    global _active
    with _lock:
        if _active is not None:
            raise ConfigurationError(
                f"Already recording to {_active.path}.",
                hint="Stop it first with `%llm record stop` (or llm_magics.providers.record.stop_recording()).",
            )
        rec = Recorder(path, overwrite=overwrite)
        _active = rec
        if _wrapper not in PROVIDER_WRAPPERS:
            PROVIDER_WRAPPERS.append(_wrapper)
    return rec


def stop_recording() -> Recorder | None:
    """Stop recording; returns the finished recorder (None when nothing was recording)."""
    global _active
    with _lock:
        rec, _active = _active, None
        while _wrapper in PROVIDER_WRAPPERS:
            PROVIDER_WRAPPERS.remove(_wrapper)
    if rec is not None:
        rec.close()
    return rec


def recording() -> Recorder | None:
    """The active recorder, if any."""
    return _active


@contextmanager
def record(path: str | Path, *, overwrite: bool = False) -> Iterator[Recorder]:
    """Record every provider call made inside the block into the cassette at `path`."""
    rec = start_recording(path, overwrite=overwrite)
    try:
        yield rec
    finally:
        if _active is rec:
            stop_recording()
