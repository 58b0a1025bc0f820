"""OpenAI chat-completions provider; the base of the Kimi and OpenAI-compatible providers.

Streaming reads our own SSE decoder straight off the socket and builds one `Chunk` per delta
(role-only and empty deltas are skipped). The finishing chunk is held back until the stream ends
so that usage sent after it (OpenAI's ``stream_options.include_usage`` chunk) lands on the same,
last `Chunk`. A stream that ends without a finish_reason raises `StreamInterrupted` with the text.
`complete` sends ``stream: false`` and returns the same text.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from llm_magics.errors import (
    ConfigurationError,
    ProviderError,
    StreamInterrupted,
)
from llm_magics.providers.http import (
    CONTROL_OPTIONS,
    HTTPProvider,
    ended_early,
)
from llm_magics.providers.registry import PROVIDERS
from llm_magics.providers.sse import DONE, SSEvent
from llm_magics.providers.base import Chunk, Completion, Message, ModelInfo, Usage

__all__ = ["OpenAIProvider"]

_MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")
_REQUEST_DEFAULTS = ("temperature", "max_tokens")


def _usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt = int(raw.get("prompt_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    details = raw.get("completion_tokens_details") or {}
    cached = raw.get("cached_tokens")
    if cached is None:
        cached = (raw.get("prompt_tokens_details") or {}).get("cached_tokens")
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=int(raw.get("total_tokens") or prompt + completion),
        reasoning_tokens=details.get("reasoning_tokens") if isinstance(details, dict) else None,
        cached_tokens=int(cached) if cached is not None else None,
    )


class OpenAIProvider(HTTPProvider):
    """Chat completions over HTTP (``POST {base_url}/chat/completions``)."""

    name: ClassVar[str] = PROVIDERS[PROVIDERS.OPENAI].name
    #: Ask for a final usage chunk (``stream_options.include_usage``); servers that reject it turn it off.
    stream_usage_option: ClassVar[bool] = True
    #: Delta fields that carry reasoning text (Moonshot/DeepSeek: reasoning_content; vLLM/OpenRouter: reasoning).
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning_content", "reasoning")
    #: Added to the hint when a stream ends (``[DONE]`` or EOF) before its finish_reason.
    cut_off_hint: ClassVar[str] = ""

    # -- request building ----------------------------------------------------------------
    def _convert_message(self, message: Message) -> dict[str, Any]:
        """An OpenAI message: unknown keys (e.g. our `reasoning`) dropped."""
        return {k: message[k] for k in _MESSAGE_KEYS if k in message}

    def _defaults_for(self, model: str) -> dict[str, Any]:
        """Request defaults for this model; the provider options win over them, per-call params over both."""
        return {}

    def _check_params(self, model: str, body: dict[str, Any]) -> None:
        """Validate/adjust the body before it is sent (subclasses: ranges, fixed params)."""

    def _body(self, messages: Sequence[Message], model: str, params: dict[str, Any], stream: bool) -> dict[str, Any]:
        if not messages:
            raise ConfigurationError("No messages to send.", provider=self.name,
                                     hint="Pass at least one {'role': 'user', 'content': ...} message.")
        body: dict[str, Any] = {"model": model, "messages": [self._convert_message(m) for m in messages]}
        body.update(self._defaults_for(model))
        body.update({k: self.options[k] for k in _REQUEST_DEFAULTS if self.options.get(k) is not None})
        body.update({k: v for k, v in params.items() if k not in CONTROL_OPTIONS and v is not None})
        body["stream"] = stream
        if stream and self.stream_usage_option:
            body.setdefault("stream_options", {"include_usage": True})
        self._check_params(model, body)
        return body

    # -- streaming ---------------------------------------------------------------------------
    async def stream(
        self, messages: Sequence[Message], *, model: str | None = None, **params: Any
    ) -> AsyncIterator[Chunk]:
        chosen = await self._model(model)
        body = self._body(messages, chosen, params, stream=True)
        text: list[str] = []
        reasoning: list[str] = []
        final: Chunk | None = None  # held back until the end so that late usage joins it
        served: str | None = None  # the model the server says answered
        seen = False
        loads = json.loads
        rfields = self.reasoning_fields
        async with self._stream_errors(chosen, text, reasoning):
            async for event in self._events("/chat/completions", body):
                seen = True
                data = event.data
                if data == DONE:
                    break
                try:
                    obj = loads(data)
                except ValueError:
                    raise self.malformed_event(data, "Check the base URL points at a chat-completions API.") from None
                if not isinstance(obj, dict):
                    continue
                if "error" in obj and obj["error"]:
                    raise self._error(None, obj)
                if served is None and obj.get("model"):
                    served = str(obj["model"])
                usage = obj.get("usage")
                choices = obj.get("choices")
                if choices:
                    choice = choices[0]
                    delta = choice.get("delta") or {}
                    content = delta.get("content") or ""
                    think = ""
                    for f in rfields:
                        value = delta.get(f)
                        if value:
                            think = value
                            break
                    finish = choice.get("finish_reason")
                    usage = choice.get("usage") or usage
                    if content:
                        text.append(content)
                    if think:
                        reasoning.append(think)
                    if finish or usage:
                        if content or think:
                            yield Chunk(content, think)
                        final = Chunk("", "", finish or (final.finish_reason if final else None),
                                      _usage(usage) or (final.usage if final else None))
                    elif content or think:
                        yield Chunk(content, think)
                elif usage:
                    final = Chunk("", "", final.finish_reason if final else None, _usage(usage))
        if final is None or final.finish_reason is None:
            if not seen:
                raise StreamInterrupted(
                    f"{self.host} accepted the request but sent an empty stream (no events at all).",
                    provider=self.name,
                    hint="llama-cpp-python does this when the prompt does not fit its context window: shorten "
                         "the prompt (or the discussion), or start the server with a larger --n_ctx.",
                )
            cut = ended_early(self.name, self.host, "".join(text), "".join(reasoning))
            if self.cut_off_hint:
                cut = StreamInterrupted(cut.message, provider=self.name, partial_text=cut.partial_text,
                                        partial_reasoning=cut.partial_reasoning,
                                        hint=f"{cut.hint} {self.cut_off_hint}")
            raise cut
        yield Chunk(final.text, final.reasoning, final.finish_reason, final.usage, served)

    def _answer_as_events(self, raw: bytes) -> list[SSEvent] | None:
        """A chat.completion object sent to a streamed request → one chunk with all of it, then [DONE]."""
        try:
            obj = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(obj, dict) or obj.get("error") or not obj.get("choices"):
            return None
        choice = obj["choices"][0] if isinstance(obj["choices"], list) else None
        if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
            return None
        message = choice["message"]
        delta = {k: message[k] for k in ("content", *self.reasoning_fields) if message.get(k)}
        chunk = {"model": obj.get("model"), "usage": obj.get("usage"),
                 "choices": [{"index": 0, "delta": delta, "finish_reason": choice.get("finish_reason") or "stop"}]}
        return [SSEvent(json.dumps(chunk)), SSEvent(DONE)]

    # -- non-streaming -------------------------------------------------------------------------
    async def complete(
        self, messages: Sequence[Message], *, model: str | None = None, **params: Any
    ) -> Completion:
        chosen = await self._model(model)
        body = self._body(messages, chosen, params, stream=False)
        obj, latency = await self._post_for_model("/chat/completions", body, chosen)
        if isinstance(obj, dict) and obj.get("error"):
            raise self._error(None, obj)
        try:
            choice = obj["choices"][0]
            message = choice.get("message") or {}
        except (KeyError, IndexError, TypeError):
            raise ProviderError(f"{self.host} sent an answer without choices.", provider=self.name,
                                hint="Check the base URL points at a chat-completions API.") from None
        think = ""
        for f in self.reasoning_fields:
            if message.get(f):
                think = str(message[f])
                break
        usage = _usage(obj.get("usage") or choice.get("usage"))
        return Completion(
            text=str(message.get("content") or ""),
            model=chosen,
            served_model=str(obj["model"]) if obj.get("model") else None,
            reasoning=think,
            finish_reason=choice.get("finish_reason"),
            usage=usage,
            ttft_s=latency,  # the first token arrived with the whole answer
            latency_s=latency,
            provider=self.name,
            cost=self.price(chosen, usage),  # priced by the ID asked for (a dated alias may differ)
        )

    # -- models --------------------------------------------------------------------------------
    async def _model(self, model: str | None) -> str:
        return await self.aresolve_model(model)

    async def list_models(self) -> list[ModelInfo]:
        """The served IDs, each followed by the other names it answers to (llama-server's ``aliases``)."""
        obj = await self._json("GET", "/models")
        data = obj.get("data") if isinstance(obj, dict) else obj
        out: list[ModelInfo] = []
        seen: set[str] = set()
        for item in data or []:
            if isinstance(item, dict) and item.get("id"):
                mid = str(item["id"])
                info = ModelInfo(
                    id=mid, provider=self.name,
                    created=item.get("created") if isinstance(item.get("created"), int) else None,
                    owned_by=item.get("owned_by"),
                    context_length=item.get("context_length") if isinstance(item.get("context_length"), int) else None,
                )
                aliases = item.get("aliases")
                for name in [mid, *(aliases if isinstance(aliases, list) else [])]:
                    if isinstance(name, str) and name and name not in seen:
                        seen.add(name)
                        out.append(info if name == mid else replace(info, id=name, alias_of=mid))
        return out
