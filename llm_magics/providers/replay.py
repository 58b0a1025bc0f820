"""The replay provider: plays a recorded JSONL cassette back, with its original pacing, offline.

A researcher records a real Kimi session (`%llm record PATH`, see `llm_magics.providers.record`) and
publishes the cassette with the notebook; on Binder the `replay` provider answers every request
from the cassette, chunk by chunk at the recorded times (option `speed=` multiplies the pace;
`speed=0` plays instantly), so the notebook runs with no key. Every answer starts with a visible
label saying it is a replay. A request that is not in the cassette is an error naming the
closest recorded request and how to re-record, never a silent guess.

Cassette format (one JSON object per line; the first line is a header)::

    {"type": "header", "format": "llm-magics-cassette", "version": 1, "created": "…"}
    {"type": "interaction", "provider": "kimi", "model": "kimi-k2-0905-preview",
     "fingerprint": "…", "request": {"messages": […], "params": {…}},
     "chunks": [{"t": 0.41, "text": "Hello "}, …, {"t": 1.2, "finish_reason": "stop", "usage": {…}}],
     "error": null}

The fingerprint covers model, messages and the params that change the answer; never a key, a
header or a base URL. The recorded provider's name is kept for the label but not matched, so a
cassette recorded on `kimi` replays under the `replay` provider.
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import json
import os
import re
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llm_magics import errors
from llm_magics.errors import ConfigurationError, LLMError
from llm_magics.providers.registry import PROVIDERS
from llm_magics.providers.base import Chunk, Message, ModelInfo, Provider, Usage

__all__ = [
    "ReplayProvider",
    "Cassette",
    "Interaction",
    "CASSETTE_FORMAT",
    "CASSETTE_VERSION",
    "replay_label",
    "strip_replay_label",
    "normalize_request",
    "fingerprint",
    "load_cassette",
]

CASSETTE_FORMAT = "llm-magics-cassette"
CASSETTE_VERSION = 1
SPEED_ENV = "LLM_MAGICS_REPLAY_SPEED"

_LABEL_RE = re.compile(r"\[replay of a recorded [^\]\n]*\][ \t]*\n?\n?")

#: Params that never change an answer (or must never be stored): dropped from fingerprints.
_IGNORED_PARAMS = frozenset(
    {"stream", "stream_options", "timeout", "rpm", "retries", "max_retries", "base_url", "user", "extra_headers"}
)
_SECRET_WORDS = ("key", "auth", "secret", "header", "password", "token_url", "cookie")


def replay_label(provider: str, model: str) -> str:
    """The visible first line of every replayed answer."""
    who = f"{provider} · {model}" if provider else model
    return f"[replay of a recorded {who} answer: played back from a cassette, not a live call]"


def strip_replay_label(text: str) -> str:
    """Remove replay labels, so replayed turns fingerprint like the recorded ones.

    Anywhere in the text, not only at the start: orchestration quotes earlier answers inside
    later prompts ("The discussion so far: …").
    """
    return _LABEL_RE.sub("", text)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


def _is_secret_param(name: str) -> bool:
    low = name.lower()
    return low in _IGNORED_PARAMS or any(word in low for word in _SECRET_WORDS)


def normalize_request(messages: Sequence[Message], params: Mapping[str, Any]) -> dict[str, Any]:
    """The key-free, label-free, JSON-safe request that a fingerprint is taken of."""
    norm_msgs: list[dict[str, Any]] = []
    for msg in messages:
        item: dict[str, Any] = {}
        for k, v in msg.items():
            if v is None or (k == "reasoning" and not v):
                continue
            if k == "content" and isinstance(v, str):
                v = strip_replay_label(v)
            item[str(k)] = _jsonable(v)
        norm_msgs.append(item)
    norm_params = {
        str(k): _jsonable(v) for k, v in sorted(params.items()) if v is not None and not _is_secret_param(str(k))
    }
    return {"messages": norm_msgs, "params": norm_params}


def fingerprint(model: str, request: Mapping[str, Any]) -> str:
    """A stable hash of model + normalized request (provider name deliberately left out)."""
    blob = json.dumps({"model": model, **request}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


@dataclass
class Interaction:
    """One recorded request and its stream."""

    provider: str
    model: str
    request: dict[str, Any]
    chunks: list[dict[str, Any]]
    error: dict[str, Any] | None = None
    fingerprint: str = ""
    line: int = 0

    def __post_init__(self) -> None:
        if not self.fingerprint:
            self.fingerprint = fingerprint(self.model, self.request)

    def last_user(self) -> str:
        for msg in reversed(self.request.get("messages", [])):
            if msg.get("role") == "user":
                return str(msg.get("content", ""))
        return ""

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "interaction",
            "provider": self.provider,
            "model": self.model,
            "fingerprint": self.fingerprint,
            "request": self.request,
            "chunks": self.chunks,
            "error": self.error,
        }


@dataclass
class Cassette:
    """A loaded cassette: interactions by fingerprint; repeats are served in recorded order."""

    path: Path
    interactions: list[Interaction]
    _by_fp: dict[str, list[Interaction]] = field(default_factory=dict, repr=False)
    _served: dict[str, int] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        for inter in self.interactions:
            self._by_fp.setdefault(inter.fingerprint, []).append(inter)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(i.model for i in self.interactions))

    def default_model(self) -> str | None:
        return self.interactions[0].model if self.interactions else None

    def find(self, model: str, request: Mapping[str, Any]) -> Interaction:
        """The recorded answer to this request (the n-th repeat gets the n-th recording, cycling)."""
        fp = fingerprint(model, request)
        hits = self._by_fp.get(fp)
        if not hits:
            raise self._missing(model, request)
        with self._lock:
            n = self._served.get(fp, 0)
            self._served[fp] = n + 1
        return hits[n % len(hits)]

    def _missing(self, model: str, request: Mapping[str, Any]) -> ConfigurationError:
        best = max(self.interactions, key=lambda inter: _likeness(model, request, inter), default=None)
        ask = _last_user_of(request)
        msg = (
            f"This request is not in the cassette {self.path} ({len(self.interactions)} recorded): "
            f"model '{model}', last user message \u201c{_short(ask)}\u201d."
        )
        if best is not None:
            msg += (
                f" Closest recorded request: model '{best.model}', last user message "
                f"\u201c{_short(best.last_user())}\u201d; {_difference(model, request, best)}."
            )
        hint = (
            "Re-record it: with a real key, run the same cells inside `%llm record PATH` … `%llm record stop` "
            "(or `with llm_magics.providers.record.record(PATH):`), or change the prompt, model and params back to the recorded ones."
        )
        return ConfigurationError(msg, provider=ReplayProvider.name, hint=hint)

    def __len__(self) -> int:
        return len(self.interactions)


def _likeness(model: str, request: Mapping[str, Any], inter: Interaction) -> tuple[bool, int, float, bool, int]:
    """Sort key for "closest": same model, longest shared message prefix, most similar last
    question, same params; ties go to the earliest line (deterministic for any file order)."""
    mine, theirs = list(request.get("messages", [])), list(inter.request.get("messages", []))
    shared = 0
    for a, b in zip(mine, theirs):
        if a != b:
            break
        shared += 1
    ratio = difflib.SequenceMatcher(None, _last_user_of(request), inter.last_user(), autojunk=False).ratio()
    same_params = dict(request.get("params", {})) == dict(inter.request.get("params", {}))
    return (model == inter.model, shared, round(ratio, 6), same_params, -inter.line)


def _last_user_of(request: Mapping[str, Any]) -> str:
    for msg in reversed(list(request.get("messages", []))):
        if msg.get("role") == "user":
            return str(msg.get("content", ""))
    return ""


def _short(text: str, limit: int = 70) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _difference(model: str, request: Mapping[str, Any], rec: Interaction) -> str:
    """Name the first thing that differs, in words."""
    if model != rec.model:
        return f"the model differs ('{model}' vs recorded '{rec.model}')"
    mine, theirs = list(request.get("messages", [])), list(rec.request.get("messages", []))
    for i, (a, b) in enumerate(zip(mine, theirs)):
        if a != b:
            role = a.get("role", "?")
            return f"message {i + 1} ({role}) differs"
    if len(mine) != len(theirs):
        return f"it has {len(theirs)} messages, this request has {len(mine)}"
    pa, pb = dict(request.get("params", {})), dict(rec.request.get("params", {}))
    keys = sorted(k for k in set(pa) | set(pb) if pa.get(k) != pb.get(k))
    if keys:
        shown = ", ".join(f"{k}={pa.get(k)!r} vs recorded {pb.get(k)!r}" for k in keys)
        return f"the params differ ({shown})"
    return "it differs only in details"


_CACHE: dict[Path, tuple[int, int, Cassette]] = {}
_CACHE_LOCK = threading.Lock()


def load_cassette(path: str | os.PathLike[str]) -> Cassette:
    """Read (and cache until the file changes) a cassette; bad files raise ConfigurationError."""
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except OSError:
        raise ConfigurationError(
            f"Cassette file {p} does not exist.",
            hint="Record one with `%llm record PATH`, or set LLM_MAGICS_CASSETTE to an existing .jsonl cassette.",
        ) from None
    key = p.resolve()
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
        if cached and cached[0] == st.st_mtime_ns and cached[1] == st.st_size:
            return cached[2]
    interactions: list[Interaction] = []
    with p.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigurationError(
                    f"Cassette {p} line {lineno} is not JSON ({exc.msg}).",
                    hint="Cassettes are JSONL written by `%llm record`; re-record it or fix the line.",
                ) from None
            if obj.get("type") == "header":
                if obj.get("version", CASSETTE_VERSION) > CASSETTE_VERSION:
                    raise ConfigurationError(
                        f"Cassette {p} has version {obj.get('version')}; this llm-magics reads up to {CASSETTE_VERSION}.",
                        hint="Upgrade llm-magics (pip install -U llm-magics).",
                    )
                continue
            if obj.get("type") != "interaction":
                continue
            interactions.append(
                Interaction(
                    provider=str(obj.get("provider", "")),
                    model=str(obj["model"]),
                    request=obj.get("request", {"messages": [], "params": {}}),
                    chunks=list(obj.get("chunks", [])),
                    error=obj.get("error"),
                    line=lineno,
                )
            )
    cassette = Cassette(p, interactions)
    with _CACHE_LOCK:
        _CACHE[key] = (st.st_mtime_ns, st.st_size, cassette)
    return cassette


def _rebuild_error(data: Mapping[str, Any], partial: str, provider: str) -> LLMError:
    cls = getattr(errors, str(data.get("class", "")), None)
    if not (isinstance(cls, type) and issubclass(cls, LLMError)):
        cls = errors.ProviderError
    kw: dict[str, Any] = {
        "provider": data.get("provider") or provider,
        "status": data.get("status"),
        "error_type": data.get("error_type"),
        "hint": data.get("hint"),
    }
    message = f"(replayed) {data.get('message', 'recorded error')}"
    if cls is errors.StreamInterrupted:
        return errors.StreamInterrupted(message, partial_text=partial, **kw)
    if cls is errors.ModelNotFoundError:
        return errors.ModelNotFoundError(message, suggestions=list(data.get("suggestions") or []), **kw)
    return cls(message, **kw)


class ReplayProvider(Provider):
    """Answers from a cassette (path: option `cassette=`, `base_url`, or env LLM_MAGICS_CASSETTE)."""

    name = PROVIDERS.REPLAY
    offline = True

    @property
    def cassette_path(self) -> str:
        path = str(self.options.get("cassette") or self.base_url or "")
        if not path:
            raise ConfigurationError(
                "The replay provider needs a cassette file.",
                provider=self.name,
                hint=f"Set LLM_MAGICS_CASSETTE=path/to/session.jsonl, or get_provider('{self.name}', cassette=PATH).",
            )
        return path

    def cassette(self) -> Cassette:
        return load_cassette(self.cassette_path)

    @property
    def speed(self) -> float:
        raw = self.options.get("speed", os.environ.get(SPEED_ENV) or 1.0)
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"speed={raw!r} is not a number.", provider=self.name, hint="Use e.g. speed=1.0 (recorded pace), 4 or 0 (instant)."
            ) from None

    def resolve_model(self, model: str | None) -> str:
        chosen = model or self.default_model or self.cassette().default_model()
        if not chosen:
            raise ConfigurationError(
                f"The cassette {self.cassette_path} has no recorded requests.", provider=self.name,
                hint="Record a session into it with `%llm record PATH`.",
            )
        return chosen

    async def stream(
        self, messages: Sequence[Message], *, model: str | None = None, **params: Any
    ) -> AsyncIterator[Chunk]:
        chosen = self.resolve_model(model)
        inter = self.cassette().find(chosen, normalize_request(messages, params))
        speed = self.speed
        label = replay_label(inter.provider, inter.model) + "\n\n" if self.options.get("label", True) else ""
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        partial: list[str] = []
        last = len(inter.chunks) - 1
        for i, raw in enumerate(inter.chunks):
            if speed > 0:
                wait = float(raw.get("t", 0.0)) / speed - (loop.time() - t0)
                if wait > 0:
                    await asyncio.sleep(wait)
            text = str(raw.get("text", ""))
            if label and (text or (i == last and inter.error is None)):
                text, label = label + text, ""
            partial.append(text)
            yield Chunk(
                text=text,
                reasoning=str(raw.get("reasoning", "")),
                finish_reason=raw.get("finish_reason"),
                usage=Usage.from_dict(raw.get("usage")),
            )
        if label and inter.error is None:
            yield Chunk(text=label.rstrip("\n"))
        if inter.error is not None:
            raise _rebuild_error(inter.error, "".join(partial), inter.provider)

    async def list_models(self) -> list[ModelInfo]:
        return [ModelInfo(id=m, provider=self.name, owned_by="cassette") for m in self.cassette().models]
