"""The offline provider: no network, no key, deterministic text — for demos, Binder and tests.

Every answer starts with a visible label saying it was generated offline, so nobody mistakes it
for a model's output. The text is derived from the system prompt (the persona's role) and the
last user message, so different personas say different things and reruns give the same text.
It knows the Kimi model IDs too, so `%%compare` demos run without a key; `thinking` IDs stream
reasoning first and `turbo` IDs stream faster. Pace: option `chunk_delay` (seconds per chunk) or
env `LLM_MAGICS_OFFLINE_DELAY`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

from llm_magics.errors import ModelNotFoundError
from llm_magics.providers.registry import PROVIDERS
from llm_magics.providers.suggest import closest
from llm_magics.providers.base import Chunk, Message, ModelInfo, Provider, Usage

__all__ = ["OfflineProvider", "OFFLINE_LABEL"]

OFFLINE_LABEL = "[offline demo: generated locally, not by a model]"

_OPENERS = (
    "The first thing I would look at is",
    "From where I sit, the heart of this is",
    "My main concern is",
    "What stands out to me is",
)
_ANGLES = (
    "the assumptions nobody has written down",
    "how this fails when the input is hostile or malformed",
    "who the real user is and what they need in the first minute",
    "the cost of changing course later",
    "what we can measure to know it worked",
    "the smallest version we could ship and learn from",
)
_MOVES = (
    "I would start by listing the risks and ranking them by impact.",
    "A short experiment would settle the biggest open question.",
    "We should write the acceptance criteria before any code.",
    "I recommend a staged rollout with a clear way back.",
)


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def _role(system: str) -> str:
    m = re.search(r"You are ([^.,\n]+?)(?:,| —| -|\.|\n)(?:\s*(?:an?|the)\s+([^.\n]+?)[.\n])?", system)
    if not m:
        return "Assistant"
    return f"{m.group(1).strip()} ({m.group(2).strip()})" if m.group(2) else m.group(1).strip()


def _topic(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


_STOPWORDS = frozenset(
    "that this with what your from have should would could about into they them their there which "
    "when where does were been will just than then also more most some such only very".split()
)


def _subject(prompt: str) -> str:
    """What the prompt is about: the text after its last 'Topic:' line (how discussions phrase
    it), else its last non-empty line (workflow prompts end with the material)."""
    head, sep, tail = prompt.rpartition("Topic:")
    if sep and tail.strip():
        return tail.strip()
    lines = [ln for ln in prompt.splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def offline_answer(system: str, prompt: str, model: str) -> tuple[str, str]:
    """(reasoning, text) for a prompt; deterministic (pure, except for the shipped eval sets' repeats)."""
    from llm_magics.providers.offline_answers import known_answer

    known = known_answer(prompt, model)
    if known is not None:  # an item of a shipped eval set: a simulated answer, still labelled offline
        thought = "Let me work through the item step by step." if "thinking" in model else ""
        return thought, f"{OFFLINE_LABEL}\n\n{known}"
    s = _seed(system, prompt, model)
    role = _role(system)
    subject = _subject(prompt)
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_]{3,}", subject) if w.lower() not in _STOPWORDS]
    focus = words[s % len(words)] if words else "the question"
    parts = [OFFLINE_LABEL]
    upper = prompt.upper()
    if "AGREE" in upper and "DISAGREE" in upper:
        # Debate protocol: agree unless the hash says otherwise (about one time in five).
        parts.append("DISAGREE" if s % 5 == 0 else "AGREE")
    parts.append(
        f"{role} on \u201c{_topic(subject)}\u201d: "
        f"{_OPENERS[s % len(_OPENERS)]} {_ANGLES[(s >> 3) % len(_ANGLES)]}, especially around '{focus}'. "
        f"{_MOVES[(s >> 7) % len(_MOVES)]}"
    )
    if "FINAL ANSWER" in upper:
        # Vote protocol: most personas pick the same short answer, the DISAGREE one differs.
        choices = ("Yes, with a staged rollout", "No, not yet", "Only after a pilot")
        pick = _seed(_topic(prompt.splitlines()[-1] if prompt.strip() else prompt)) % len(choices)
        parts.append(f"FINAL ANSWER: {choices[(pick + (1 if s % 5 == 0 else 0)) % len(choices)]}")
    if "FINAL RANKING" in upper:
        labels = sorted(set(re.findall(r"Response ([A-Z])\b", prompt)))
        order = sorted(labels, key=lambda lab: _seed(lab, str(s)))
        parts.append("FINAL RANKING:\n" + "\n".join(f"{i}. Response {lab}" for i, lab in enumerate(order, 1)))
    reasoning = ""
    if "thinking" in model:
        reasoning = f"Let me think about {focus} step by step: what is asked, what could go wrong, what to recommend."
    return reasoning, "\n\n".join(parts)


class OfflineProvider(Provider):
    name = PROVIDERS.OFFLINE
    offline = True

    def _known_models(self) -> list[str]:
        own = list(self.spec.builtin_models) if self.spec else []
        return own + list(PROVIDERS[PROVIDERS.KIMI].builtin_models)

    def _delay(self, model: str) -> float:
        if "chunk_delay" in self.options:
            return float(self.options["chunk_delay"])
        env = os.environ.get("LLM_MAGICS_OFFLINE_DELAY")
        base = float(env) if env else 0.02
        if "fast" in model or "turbo" in model:
            return base / 3
        if "slow" in model or "thinking" in model:
            return base * 2
        return base

    async def stream(
        self, messages: Sequence[Message], *, model: str | None = None, **params: Any
    ) -> AsyncIterator[Chunk]:
        chosen = self.resolve_model(model)
        known = self._known_models()
        if chosen not in known:
            near = closest(chosen, known)
            dym = "Did you mean " + " or ".join(f"'{m}'" for m in near) + "? " if near else ""
            raise ModelNotFoundError(
                f"The offline provider has no model '{chosen}'.",
                provider=self.name,
                suggestions=near,
                hint=f"{dym}`%llm models offline` lists all {len(known)}.",
            )
        system = "\n".join(str(m.get("content", "")) for m in messages if m.get("role") == "system")
        prompt = next((str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), "")
        reasoning, text = offline_answer(system, prompt, chosen)
        delay = self._delay(chosen)
        max_tokens = params.get("max_tokens") or self.options.get("max_tokens")
        pieces = re.findall(r"\S+\s*|\s+", text)
        finish = "stop"
        if max_tokens and len(pieces) > int(max_tokens):
            pieces, finish = pieces[: int(max_tokens)], "length"
        for piece in re.findall(r"\S+\s*", reasoning):
            if delay:
                await asyncio.sleep(delay)
            yield Chunk(reasoning=piece)
        for piece in pieces:
            if delay:
                await asyncio.sleep(delay)
            yield Chunk(text=piece)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        out = len(pieces)
        rt = len(reasoning.split()) if reasoning else None
        yield Chunk(
            finish_reason=finish,
            usage=Usage(prompt_tokens, out + (rt or 0), prompt_tokens + out + (rt or 0), reasoning_tokens=rt),
        )

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(id=m, provider=self.name, owned_by="llm-magics") for m in self._known_models()]
