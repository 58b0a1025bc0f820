"""Anthropic Messages API (``POST /v1/messages``), streaming named SSE events.

Differences from the OpenAI format handled here: the key goes in ``x-api-key`` with an
``anthropic-version`` header; system prompts move to the top-level ``system`` field;
``max_tokens`` is required (default 4096); the stream is a sequence of named events
(message_start, content_block_delta with text_delta / thinking_delta, message_delta with
cumulative usage, message_stop) and may carry an ``error`` event mid-stream, which becomes the
matching typed error. Stop reasons are reported in the OpenAI vocabulary ("stop", "length").
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, ClassVar

from llm_magics.errors import ConfigurationError
from llm_magics.providers.http import (
    CONTROL_OPTIONS,
    HTTPProvider,
    ended_early,
)
from llm_magics.providers.registry import PROVIDERS
from llm_magics.providers.sse import SSEvent
from llm_magics.providers.base import Chunk, Completion, Message, ModelInfo, Usage

__all__ = ["AnthropicProvider", "ANTHROPIC_VERSION"]

ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
_STOP = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls"}


def _usage(raw: dict[str, Any]) -> Usage:
    """input_tokens excludes cache reads and writes; prompt_tokens here includes both (as OpenAI counts)."""
    cached = raw.get("cache_read_input_tokens")
    written = raw.get("cache_creation_input_tokens")
    prompt = int(raw.get("input_tokens") or 0) + int(cached or 0) + int(written or 0)
    completion = int(raw.get("output_tokens") or 0)
    return Usage(prompt, completion, prompt + completion, cached_tokens=int(cached) if cached is not None else None,
                 cache_write_tokens=int(written) if written is not None else None)


class AnthropicProvider(HTTPProvider):
    name: ClassVar[str] = PROVIDERS[PROVIDERS.ANTHROPIC].name

    def _auth_headers(self) -> dict[str, str]:
        headers = {"anthropic-version": str(self.options.get("anthropic_version", ANTHROPIC_VERSION))}
        if self.key:
            headers["x-api-key"] = self.key.secret.reveal()
        return headers

    def _url(self, path: str) -> str:
        root = self.base_url[:-3] if self.base_url.endswith("/v1") else self.base_url
        return root + path

    def _body(self, messages: Sequence[Message], model: str, params: dict[str, Any], stream: bool) -> dict[str, Any]:
        system = [str(m.get("content") or "") for m in messages if m.get("role") == "system"]
        turns = [{"role": m["role"], "content": m.get("content") or ""} for m in messages
                 if m.get("role") in ("user", "assistant")]
        if not turns:
            raise ConfigurationError("No user message to send.", provider=self.name,
                                     hint="Pass at least one {'role': 'user', 'content': ...} message.")
        body: dict[str, Any] = {"model": model, "messages": turns,
                                "max_tokens": int(self.options.get("max_tokens") or DEFAULT_MAX_TOKENS)}
        if system:
            body["system"] = "\n\n".join(system)
        if self.options.get("temperature") is not None:
            body["temperature"] = self.options["temperature"]
        body.update({k: v for k, v in params.items()
                     if k not in CONTROL_OPTIONS and k != "anthropic_version" and v is not None})
        body["stream"] = stream
        return body

    async def stream(
        self, messages: Sequence[Message], *, model: str | None = None, **params: Any
    ) -> AsyncIterator[Chunk]:
        chosen = self.resolve_model(model)
        body = self._body(messages, chosen, params, stream=True)
        text: list[str] = []
        reasoning: list[str] = []
        usage: dict[str, Any] = {}
        stop: str | None = None
        served: str | None = None
        finished = False
        loads = json.loads
        async with self._stream_errors(chosen, text, reasoning):
            async for event in self._events("/v1/messages", body):
                kind = event.event
                if kind == "ping":
                    continue
                try:
                    obj = loads(event.data)
                except ValueError:
                    raise self.malformed_event(event.data, "Check the base URL points at the Messages API.") from None
                if kind == "message":  # unnamed event: use the payload's type
                    kind = obj.get("type", kind)
                if kind == "content_block_delta":
                    delta = obj.get("delta") or {}
                    dtype = delta.get("type")
                    if dtype == "text_delta" and delta.get("text"):
                        text.append(delta["text"])
                        yield Chunk(delta["text"])
                    elif dtype == "thinking_delta" and delta.get("thinking"):
                        reasoning.append(delta["thinking"])
                        yield Chunk("", delta["thinking"])
                elif kind == "message_start":
                    usage.update((obj.get("message") or {}).get("usage") or {})
                    served = (obj.get("message") or {}).get("model") or served
                elif kind == "message_delta":
                    usage.update(obj.get("usage") or {})  # cumulative counts: the latest wins
                    stop = (obj.get("delta") or {}).get("stop_reason") or stop
                elif kind == "message_stop":
                    finished = True
                    break
                elif kind == "error":
                    raise self._error(None, obj)
        if not finished:
            raise ended_early(self.name, self.host, "".join(text), "".join(reasoning))
        yield Chunk("", "", _STOP.get(stop or "end_turn", stop), _usage(usage) if usage else None,
                    str(served) if served else None)

    def _answer_as_events(self, raw: bytes) -> list[SSEvent] | None:
        """A whole Messages answer sent to a streamed request (LiteLLM does this for mock_response
        models) → the named events a stream of it would have had."""
        try:
            obj = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(obj, dict) or obj.get("type") != "message" or not isinstance(obj.get("content"), list):
            return None
        usage: dict[str, Any] = obj["usage"] if isinstance(obj.get("usage"), dict) else {}
        events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start",
                                     "message": {"model": obj.get("model"), "usage": usage}})]
        for block in obj["content"]:
            if isinstance(block, dict) and block.get("type") == "thinking" and block.get("thinking"):
                delta: dict[str, Any] = {"type": "thinking_delta", "thinking": block["thinking"]}
            elif isinstance(block, dict) and block.get("type") == "text" and block.get("text"):
                delta = {"type": "text_delta", "text": block["text"]}
            else:
                continue
            events.append(("content_block_delta", {"type": "content_block_delta", "delta": delta}))
        events.append(("message_delta", {"type": "message_delta", "usage": usage,
                                         "delta": {"stop_reason": obj.get("stop_reason") or "end_turn"}}))
        events.append(("message_stop", {"type": "message_stop"}))
        return [SSEvent(json.dumps(data), name) for name, data in events]

    async def complete(
        self, messages: Sequence[Message], *, model: str | None = None, **params: Any
    ) -> Completion:
        chosen = self.resolve_model(model)
        body = self._body(messages, chosen, params, stream=False)
        obj, latency = await self._post_for_model("/v1/messages", body, chosen)
        if not isinstance(obj, dict) or obj.get("type") == "error":
            raise self._error(None, obj if isinstance(obj, dict) else None)
        blocks = obj.get("content") or []
        text = "".join(str(b.get("text") or "") for b in blocks if isinstance(b, dict) and b.get("type") == "text")
        think = "".join(str(b.get("thinking") or "") for b in blocks
                        if isinstance(b, dict) and b.get("type") == "thinking")
        stop = obj.get("stop_reason")
        usage = _usage(obj["usage"]) if isinstance(obj.get("usage"), dict) else None
        return Completion(
            text=text, model=chosen, served_model=str(obj["model"]) if obj.get("model") else None, reasoning=think,
            finish_reason=_STOP.get(stop, stop) if stop else None,
            usage=usage, ttft_s=latency, latency_s=latency, provider=self.name,
            cost=self.price(chosen, usage),
        )

    async def list_models(self) -> list[ModelInfo]:
        out: list[ModelInfo] = []
        after: str | None = None
        for _ in range(20):  # pages of 1000; bounded
            params = {"limit": "1000", **({"after_id": after} if after else {})}
            obj = await self._json("GET", "/v1/models", params=params)
            for item in (obj.get("data") if isinstance(obj, dict) else None) or []:
                if isinstance(item, dict) and item.get("id"):
                    out.append(ModelInfo(id=str(item["id"]), provider=self.name, created=_epoch(item.get("created_at"))))
            if not (isinstance(obj, dict) and obj.get("has_more") and obj.get("last_id")):
                break
            after = str(obj["last_id"])
        return out


def _epoch(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None
