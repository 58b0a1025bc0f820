"""The provider contract: value types and the `Provider` base class.

Every provider (kimi, openai, anthropic, openai-compatible, offline, replay, third-party plugins)
subclasses `Provider` and implements `stream`, `list_models`; `complete` and `check` have working
defaults built on those two. Messages are plain OpenAI-style dicts:
``{"role": "system"|"user"|"assistant", "content": str, "reasoning": str (optional)}``.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from llm_magics.providers.registry import ProviderSpec

__all__ = [
    "Chunk",
    "Completion",
    "Usage",
    "Cost",
    "Pricer",
    "ModelInfo",
    "CheckReport",
    "Message",
    "Secret",
    "KeyRef",
    "Provider",
    "mask_key",
    "StreamCollector",
]

Message = Mapping[str, Any]


def mask_key(key: str | None) -> str:
    """`sk-abcdef…wxyz` → `sk-…wxyz`: enough to tell keys apart, never enough to use one."""
    if not key:
        return "(none)"
    prefix = key[:3] if key.startswith(("sk-", "sk_")) else ""
    return f"{prefix}…{key[-4:]}" if len(key) > 8 else "…"


class Secret:
    """An API key that cannot leak by accident: repr/str/format show only the masked form.

    Only `reveal()` returns the real value, and only HTTP header building calls it.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        return mask_key(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("Secret cannot be pickled")


@dataclass(frozen=True)
class KeyRef:
    """A resolved key and where it came from (explicit / env:VAR / store:ID)."""

    secret: Secret
    source: str
    key_id: str | None = None
    label: str | None = None
    # Called once when the server rejects this key (401); the key store marks it invalid.
    on_invalid: Callable[[], None] | None = field(default=None, compare=False, repr=False)

    @property
    def masked(self) -> str:
        return self.secret.masked

    def describe(self) -> str:
        label = f" '{self.label}'" if self.label else ""
        return f"{self.masked}{label} from {self.source}"


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    reasoning_tokens: int | None = None
    #: Prompt tokens served from the provider's cache (billed at the cache-hit price); part of prompt_tokens.
    cached_tokens: int | None = None
    #: Prompt tokens written to the cache (Anthropic ``cache_creation_input_tokens``); part of prompt_tokens.
    cache_write_tokens: int | None = None

    def __add__(self, other: Usage) -> Usage:
        def opt(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
            opt(self.reasoning_tokens, other.reasoning_tokens),
            opt(self.cached_tokens, other.cached_tokens),
            opt(self.cache_write_tokens, other.cache_write_tokens),
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Usage | None:
        if not d:
            return None
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True, slots=True)
class Cost:
    """What a call cost: `amount` in `currency`, or unknown (amount None, known False).

    Lives here because providers/ may not import pricing/; pricing computes it (tokens × the
    price catalogue) and `get_provider` hands providers a `Pricer` so `Completion.cost` is filled.
    """

    amount: float | None = None
    currency: str = "USD"
    known: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency, "known": self.known}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Cost:
        if not d:
            return cls()
        amount = d.get("amount")
        if not d.get("known") or amount is None:
            return cls(None, str(d.get("currency") or "USD"), False)
        return cls(float(amount), str(d.get("currency") or "USD"), True)


#: model ID, usage → cost (installed on a provider by `get_provider`; None prices nothing).
Pricer = Callable[[str, "Usage | None"], Cost]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One streamed piece. `usage` is set on the last chunk only (when the server reports it)."""

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    #: The model ID the server says answered (last chunk only; None when it does not say).
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Completion:
    """One answer. `model` is the ID asked for (what prices and tables use), `served_model` the ID
    the server says answered (an alias resolved, a dated version; None when it does not say) —
    the same rule for `complete()` and for a collected stream."""

    text: str
    model: str
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    ttft_s: float | None = None
    latency_s: float | None = None
    provider: str | None = None
    #: Unknown until the layer above prices it (see `Pricer`); never a guess.
    cost: Cost = field(default_factory=Cost)
    served_model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["usage"] = self.usage.to_dict() if self.usage else None
        d["cost"] = self.cost.to_dict()
        return d

    def as_message(self) -> dict[str, Any]:
        """The assistant turn to append to a multi-turn history (reasoning kept for Kimi)."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.text}
        if self.reasoning:
            msg["reasoning"] = self.reasoning
        return msg


@dataclass(frozen=True, slots=True)
class ModelInfo:
    id: str
    provider: str
    created: int | None = None
    owned_by: str | None = None
    context_length: int | None = None
    #: Set when this ID is another name the server accepts for `alias_of` (llama-server ``aliases``).
    alias_of: str | None = None


@dataclass(slots=True)
class CheckReport:
    """What `Provider.check()` found: enough to fix a broken setup in one read."""

    provider: str
    base_url: str
    ok: bool
    key_source: str | None = None
    key_masked: str | None = None
    models_reachable: bool = False
    latency_s: float | None = None
    model_count: int = 0
    default_model: str | None = None
    default_model_present: bool | None = None
    suggestions: list[str] = field(default_factory=list)
    error: str | None = None
    hints: list[str] = field(default_factory=list)
    #: HTTP status of the failure, when there was one (401 → key/region diagnosis).
    error_status: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class StreamCollector:
    """Folds chunks into a `Completion` and times TTFT/latency; shared by every provider."""

    __slots__ = ("model", "provider", "pricer", "_t0", "_ttft", "_text", "_reasoning", "finish_reason", "usage",
                 "served_model")

    def __init__(self, model: str, provider: str | None = None, pricer: Pricer | None = None) -> None:
        self.model = model
        self.provider = provider
        #: Prices the finished call (`Completion.cost`); pass the provider's `pricer`.
        self.pricer = pricer
        self._t0 = time.perf_counter()
        self._ttft: float | None = None
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.served_model: str | None = None

    def restart(self) -> None:
        """Start the clock again before anything arrived (the request waited for the rate limit)."""
        if self._ttft is None and not self._text and not self._reasoning:
            self._t0 = time.perf_counter()

    def add(self, chunk: Chunk) -> None:
        if self._ttft is None and (chunk.text or chunk.reasoning):
            self._ttft = time.perf_counter() - self._t0
        if chunk.text:
            self._text.append(chunk.text)
        if chunk.reasoning:
            self._reasoning.append(chunk.reasoning)
        if chunk.finish_reason:
            self.finish_reason = chunk.finish_reason
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.model:
            self.served_model = chunk.model

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    @property
    def ttft_s(self) -> float | None:
        return self._ttft

    def result(self) -> Completion:
        return Completion(
            text=self.text,
            model=self.model,
            reasoning=self.reasoning,
            finish_reason=self.finish_reason,
            usage=self.usage,
            ttft_s=self._ttft,
            latency_s=time.perf_counter() - self._t0,
            provider=self.provider,
            cost=self.pricer(self.model, self.usage) if self.pricer is not None else Cost(),
            served_model=self.served_model,
        )


class Provider(ABC):
    """Base of every provider. Subclasses set `name` and implement `stream` and `list_models`.

    Construct providers with `llm_magics.get_provider(name, ...)`, which resolves the key,
    base URL and defaults from arguments, environment and the key store.
    """

    name: ClassVar[str] = ""
    #: Whether output is produced without any network (shown in every answer's label).
    offline: ClassVar[bool] = False
    #: Prices finished calls; `get_provider` installs one from the price catalogue (None: costs unknown).
    pricer: Pricer | None = None

    def __init__(
        self,
        *,
        key: KeyRef | None = None,
        base_url: str | None = None,
        default_model: str | None = None,
        spec: ProviderSpec | None = None,
        **options: Any,
    ) -> None:
        self.spec = spec
        self.key = key
        self.base_url = (base_url or "").rstrip("/")
        self.default_model = default_model
        self.options: dict[str, Any] = dict(options)

    def __repr__(self) -> str:
        key = self.key.masked if self.key else "no key"
        return f"<{type(self).__name__} {self.name} {self.base_url or '-'} key={key}>"

    def resolve_model(self, model: str | None) -> str:
        from llm_magics.errors import ConfigurationError

        chosen = model or self.default_model
        if not chosen:
            raise ConfigurationError(
                f"No model given for provider '{self.name}'.",
                hint="Pass model=... (or --model), or set LLM_MAGICS_MODEL.",
            )
        return chosen

    async def aresolve_model(self, model: str | None = None) -> str:
        """The model a call with `model` uses: one rule for streams, `complete`, discussions,
        workflows and comparisons. Here: `resolve_model`; an OpenAI-compatible server with no model
        configured uses the first ID its ``/models`` lists."""
        return self.resolve_model(model)

    @abstractmethod
    def stream(
        self, messages: Sequence[Message], *, model: str | None = None, **params: Any
    ) -> AsyncIterator[Chunk]:
        """Yield chunks as they arrive; the last one carries finish_reason (and usage)."""

    @abstractmethod
    async def list_models(self) -> list[ModelInfo]:
        """The model IDs the server offers (`GET /v1/models` or equivalent)."""

    def price(self, model: str, usage: Usage | None) -> Cost:
        """The cost of one finished call of `model` (unknown without a pricer)."""
        return self.pricer(model, usage) if self.pricer is not None else Cost()

    async def complete(
        self, messages: Sequence[Message], *, model: str | None = None, **params: Any
    ) -> Completion:
        """The whole answer at once; the same text `stream` would give."""
        from llm_magics.providers.scheduler import on_admitted

        collector = StreamCollector(self.resolve_model(model), self.name, self.pricer)
        with on_admitted(collector.restart):  # queueing for the rate limit is not the model's time
            async for chunk in self.stream(messages, model=model, **params):
                collector.add(chunk)
        return collector.result()

    async def check(self) -> CheckReport:
        """Key valid? Which base URL? Default model present? Never raises for server answers."""
        from llm_magics.errors import LLMError
        from llm_magics.providers.suggest import closest

        report = CheckReport(
            provider=self.name,
            base_url=self.base_url,
            ok=False,
            key_source=self.key.source if self.key else None,
            key_masked=self.key.masked if self.key else None,
            default_model=self.default_model,
        )
        t0 = time.perf_counter()
        try:
            models = await self.list_models()
        except LLMError as exc:
            report.error = str(exc)
            report.error_status = exc.status
            report.latency_s = time.perf_counter() - t0
            return report
        report.latency_s = time.perf_counter() - t0
        report.models_reachable = True
        report.model_count = len(models)
        ids = [m.id for m in models]
        if self.default_model:
            report.default_model_present = self.default_model in ids
            if not report.default_model_present:
                report.suggestions = closest(self.default_model, ids)
        report.ok = report.default_model_present is not False
        return report

    async def aclose(self) -> None:
        """Release network resources (no-op for providers without any)."""
