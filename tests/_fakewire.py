"""Wire formats of the fake server (tests/fakeserver.py): reply text, chunking, SSE event builders.

Pure functions, no sockets: `openai_events` / `anthropic_events` yield ``(is_content, event_text)``
pairs (event text without its terminating blank line) that the server frames and writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

__all__ = ["DEFAULT_MODELS", "DEFAULT_MESSAGES", "split_chunks", "echo_reply", "think_reply", "usage_counts",
           "openai_events", "anthropic_events", "dumps", "extra_usage", "count_prompt_words"]

DEFAULT_MODELS = [
    "kimi-k2.6",
    "kimi-k2-0905-preview",
    "kimi-k2-0711-preview",
    "kimi-k2-turbo-preview",
    "kimi-k2-thinking",
    "kimi-k2-thinking-turbo",
    "kimi-k2.5",
    "kimi-latest",
    "moonshot-v1-8k",
    "moonshot-v1-32k",
    "moonshot-v1-128k",
    "gpt-4o-mini",
    "gpt-4o",
    "claude-sonnet-4-5",
    "claude-haiku-4-5",
]

DEFAULT_MESSAGES = {
    "invalid_request_error": "Invalid request: the request body is malformed or a parameter is out of range",
    "content_filter": "The request was rejected because it was considered high risk",
    "invalid_authentication_error": "Invalid Authentication",
    "permission_denied_error": "The API you are accessing is not open",
    "exceeded_current_quota_error": "Your account is suspended, please check your plan and billing details",
    "resource_not_found_error": "Not found the model or Permission denied",
    "rate_limit_reached_error": "Your account reached organization max RPM",
    "engine_overloaded_error": "The engine is currently overloaded, please try again later",
    "server_error": "Internal server error",
    "gateway_timeout": "Gateway Timeout",
    "authentication_error": "invalid x-api-key",
    "not_found_error": "model not found",
    "rate_limit_error": "Number of request tokens has exceeded your per-minute rate limit",
    "overloaded_error": "Overloaded",
    "api_error": "Internal server error",
}

_CHUNK_RE = re.compile(r"\s*\S+\s*|\s+")


def split_chunks(text: str) -> list[str]:
    """Words with their trailing whitespace; joining the list gives `text` back exactly."""
    return _CHUNK_RE.findall(text)


def _last_user(req: dict[str, Any]) -> str:
    for msg in reversed(req.get("messages") or []):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, list):  # Anthropic / OpenAI content blocks
                return " ".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
            return str(content or "")
    return ""


def _system(req: dict[str, Any]) -> str:
    if isinstance(req.get("system"), str):
        return str(req["system"])
    for msg in req.get("messages") or []:
        if msg.get("role") == "system":
            return str(msg.get("content") or "")
    return ""


def echo_reply(req: dict[str, Any]) -> str:
    """Deterministic reply naming the model, the system prompt's first line and the last user text."""
    system = _system(req).strip().splitlines()
    head = f" [system: {system[0]}]" if system else ""
    return f"Echo from {req.get('model')}{head}: {_last_user(req)}"


def think_reply(req: dict[str, Any]) -> str:
    return f"Let me think about '{_last_user(req)}' step by step."


def _count_words(req: dict[str, Any]) -> int:
    n = len(str(req.get("system") or "").split())
    for msg in req.get("messages") or []:
        c = msg.get("content")
        n += len((c if isinstance(c, str) else json.dumps(c)).split())
    return n


def count_prompt_words(req: dict[str, Any]) -> int:
    """What the fake tokenizer endpoint answers: the same count `prompt_tokens` reports."""
    return _count_words(req)


def usage_counts(req: dict[str, Any], text: str, reasoning: str) -> tuple[int, int]:
    return _count_words(req), len(split_chunks(text)) + len(split_chunks(reasoning))


def extra_usage(req: dict[str, Any], extra: Any) -> dict[str, Any]:
    """The server's `usage_extra` for this request: a dict, or a callable(request_json) -> dict."""
    if extra is None:
        return {}
    return dict(extra(req) if callable(extra) else extra)


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def openai_events(req: dict[str, Any], model: str, text: str, reasoning: str, *, finish: bool = True,
                  usage_style: str = "auto", send_done: bool = True,
                  usage_extra: Any = None) -> Iterator[tuple[bool, str]]:
    """Chat-completions chunks as (is_content, 'data: …') pairs."""
    base = '{"id":"chatcmpl-fake","object":"chat.completion.chunk","created":1700000000,"model":%s,"choices":' % dumps(model)
    yield False, "data: " + base + '[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}'
    for piece in split_chunks(reasoning):
        yield True, "data: " + base + '[{"index":0,"delta":{"reasoning_content":%s},"finish_reason":null}]}' % dumps(piece)
    for piece in split_chunks(text):
        yield True, "data: " + base + '[{"index":0,"delta":{"content":%s},"finish_reason":null}]}' % dumps(piece)
    if not finish:
        return
    prompt, completion = usage_counts(req, text, reasoning)
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
             **extra_usage(req, usage_extra)}
    style = usage_style
    if style == "auto":
        style = "openai" if (req.get("stream_options") or {}).get("include_usage") else "moonshot"
    finish: dict[str, Any] = {"index": 0, "delta": {}, "finish_reason": "stop"}
    if style in ("moonshot", "both"):
        finish["usage"] = usage
    yield False, "data: " + base + dumps([finish]) + "}"
    if style in ("openai", "both"):
        yield False, "data: " + base + '[],"usage":' + dumps(usage) + "}"
    if send_done:
        yield False, "data: [DONE]"

def anthropic_events(req: dict[str, Any], model: str, text: str, reasoning: str, *,
                 finish: bool = True, usage_extra: Any = None) -> Iterator[tuple[bool, str]]:
    """Messages API named events as (is_content, 'event: …\\ndata: …') pairs."""
    prompt, completion = usage_counts(req, text, reasoning)
    extra = extra_usage(req, usage_extra)

    def ev(name: str, obj: dict[str, Any]) -> str:
        return f"event: {name}\ndata: {dumps(obj)}"

    yield False, ev("message_start", {"type": "message_start", "message": {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": prompt, "output_tokens": 1, **extra}}})
    yield False, ev("ping", {"type": "ping"})
    index = 0
    if reasoning:
        yield False, ev("content_block_start", {"type": "content_block_start", "index": 0,
                                                "content_block": {"type": "thinking", "thinking": ""}})
        for piece in split_chunks(reasoning):
            yield True, ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                   "delta": {"type": "thinking_delta", "thinking": piece}})
        yield False, ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "signature_delta", "signature": "sig"}})
        yield False, ev("content_block_stop", {"type": "content_block_stop", "index": 0})
        index = 1
    yield False, ev("content_block_start", {"type": "content_block_start", "index": index,
                                            "content_block": {"type": "text", "text": ""}})
    for piece in split_chunks(text):
        yield True, ev("content_block_delta", {"type": "content_block_delta", "index": index,
                                               "delta": {"type": "text_delta", "text": piece}})
    if not finish:
        return
    yield False, ev("content_block_stop", {"type": "content_block_stop", "index": index})
    yield False, ev("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                      "usage": {"input_tokens": prompt, "output_tokens": completion, **extra}})
    yield False, ev("message_stop", {"type": "message_stop"})
