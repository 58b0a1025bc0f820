"""Which request parameters each Kimi model takes, as Moonshot documents them today.

Sources (checked 2026-11-26):

- Model Parameter Reference — https://platform.kimi.ai/docs/api/models-overview
  kimi-k2.6 (and k2.5): temperature, top_p, n, presence_penalty and frequency_penalty "cannot be
  modified"; only kimi-k2.6/k2.5 take the ``thinking`` parameter ``{"type": "enabled" | "disabled"}``.
- Using Thinking Models — https://platform.kimi.ai/docs/guide/use-kimi-k2-thinking-model
  kimi-k2-thinking*: thinking is always on; kimi-k2.7-code: always on ("disabled" is an error) and
  Preserved Thinking always on; kimi-k2.6: thinking on by default, ``keep: "all"`` turns on
  Preserved Thinking (earlier turns' ``reasoning_content`` is used when sent back); kimi-k2.5: no
  ``keep``.
- Chat Completions — https://platform.kimi.ai/docs/api/chat
  ``max_tokens`` is deprecated in favour of ``max_completion_tokens``.

Everything here is a pure function of the model ID and the request body, so it is testable
without a server and `%llm models --details` can show the same facts the provider applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from llm_magics.errors import ConfigurationError

__all__ = ["thinking_mode", "fixed_params", "normalise_thinking", "apply_thinking", "rename_max_tokens",
           "describe_params", "SAMPLING_FIXED"]

#: Sampling parameters kimi-k2.N fixes server-side (the Model Parameter Reference table).
SAMPLING_FIXED = frozenset({"temperature", "top_p", "n", "presence_penalty", "frequency_penalty"})

ThinkingMode = Literal["switchable", "switchable-keep", "always", "always-keep", "none", "unknown"]

_SWITCHABLE_KEEP = re.compile(r"^kimi-k2\.6(?:$|-)")
_SWITCHABLE = re.compile(r"^kimi-k2\.5(?:$|-)")
_ALWAYS_KEEP = re.compile(r"^kimi-k2\.7-code")
_NO_THINKING = re.compile(r"^(moonshot-v1-|kimi-latest|kimi-k2-(?:\d{4}-preview|turbo-preview)$)")


def thinking_mode(model: str) -> ThinkingMode:
    """How `model` thinks: switchable (k2.5), switchable-keep (k2.6), always (k2-thinking*),
    always-keep (k2.7-code), none (moonshot-v1, K2 previews), or unknown (a newer ID)."""
    m = model.strip().lower()
    if _SWITCHABLE_KEEP.match(m):
        return "switchable-keep"
    if _SWITCHABLE.match(m):
        return "switchable"
    if _ALWAYS_KEEP.match(m):
        return "always-keep"
    if "thinking" in m:
        return "always"
    if _NO_THINKING.match(m):
        return "none"
    return "unknown"


def fixed_params(model: str) -> frozenset[str]:
    """Parameters the model fixes server-side; llm-magics never sends them for this model."""
    return SAMPLING_FIXED if re.match(r"kimi-k2\.\d", model.strip().lower()) else frozenset()


_ON = {"enabled", "enable", "on", "true", "yes", "1"}
_OFF = {"disabled", "disable", "off", "false", "no", "0"}


def normalise_thinking(value: Any) -> str | None:
    """`True`/"on"/"enabled"/{"type": "enabled"} → "enabled"; off-values → "disabled"; None/"auto" → None."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = value.get("type")
    if isinstance(value, bool):
        return "enabled" if value else "disabled"
    text = str(value).strip().lower()
    if text in ("", "auto", "default", "none"):
        return None
    if text in _ON:
        return "enabled"
    if text in _OFF:
        return "disabled"
    raise ConfigurationError(f"thinking={value!r} is not one of enabled/disabled (on/off).",
                             hint="Use --thinking on|off, or thinking='enabled'|'disabled'.")


def _has_reasoning(messages: Sequence[Mapping[str, Any]]) -> bool:
    return any(m.get("role") == "assistant" and m.get("reasoning_content") for m in messages)


def apply_thinking(model: str, body: dict[str, Any], requested: Any, provider: str = "kimi") -> None:
    """Set (or leave out) ``thinking`` in `body` for `model`; raise when the model cannot do it.

    - switchable models get ``{"type": …}`` when asked; kimi-k2.6 also gets ``keep: "all"`` when
      thinking is on and earlier assistant turns carry ``reasoning_content`` (Preserved Thinking).
    - always-thinking models refuse "disabled"; never-thinking models refuse "enabled" (an
      explicit "disabled" there is simply true and nothing is sent).
    - unknown (newer) IDs get exactly what was asked, and the server decides.
    """
    raw = body.pop("thinking", None)
    wanted = normalise_thinking(raw if raw is not None else requested)
    mode = thinking_mode(model)
    if mode in ("always", "always-keep"):
        if wanted == "disabled":
            raise ConfigurationError(f"{model} always thinks; thinking cannot be turned off for it.",
                                     provider=provider,
                                     hint="Drop --thinking off, or pick a model with a switch (kimi-k2.6, kimi-k2.5).")
        return  # nothing to send: on is the only state (and k2.7-code keeps reasoning itself)
    if mode == "none":
        if wanted == "enabled":
            raise ConfigurationError(f"{model} has no thinking mode.", provider=provider,
                                     hint="Use kimi-k2.6 (thinking on by default) or drop --thinking on.")
        return
    keep = mode == "switchable-keep" and wanted != "disabled" and _has_reasoning(body.get("messages") or [])
    if wanted is None and not keep:
        return  # the model's default (thinking on for k2.6/k2.5)
    thinking: dict[str, Any] = {"type": wanted or "enabled"}
    if keep:
        thinking["keep"] = "all"
    body["thinking"] = thinking


def rename_max_tokens(body: dict[str, Any]) -> None:
    """Send the output cap as ``max_completion_tokens`` (Moonshot deprecates ``max_tokens``)."""
    if "max_tokens" in body:
        cap = body.pop("max_tokens")
        body.setdefault("max_completion_tokens", cap)


def describe_params(model: str) -> dict[str, str]:
    """What `%llm models --details` shows for a Kimi model: fixed params and the thinking switch."""
    mode = thinking_mode(model)
    thinking = {
        "switchable": "on by default; --thinking off disables",
        "switchable-keep": "on by default; --thinking off disables; earlier reasoning kept (keep: all)",
        "always": "always on",
        "always-keep": "always on; earlier reasoning always kept",
        "none": "no thinking mode",
        "unknown": "not documented for this ID (sent as asked)",
    }[mode]
    fixed = fixed_params(model)
    return {"fixed": ", ".join(sorted(fixed)) if fixed else "—", "thinking": thinking}
