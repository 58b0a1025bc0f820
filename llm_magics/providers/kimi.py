"""Kimi (Moonshot AI): the OpenAI wire format plus Moonshot's own rules.

- ``reasoning_content`` (thinking models) streams apart as `Chunk.reasoning`, is kept in
  `Completion.reasoning`, and assistant turns carrying ``reasoning`` are sent back with it as
  ``reasoning_content`` (Moonshot asks for it in multi-turn history of thinking models).
- Usage comes inside ``choices[0].usage`` of the finishing chunk (read at top level too).
- Temperature must be in [0, 1]; it is checked before sending. Per-family defaults: K2 0.6,
  thinking models 1.0 with a large max_tokens; the fixed sampling parameters of kimi-k2.5 / kimi-k2.6
  (and later kimi-k2.N) are not sent.
- Keys are tied to a region: a 401 names the host used and how to switch to the other one.
- The ``thinking`` option, ``max_completion_tokens`` and the fixed parameters follow Moonshot's
  documentation (sources and rules in `llm_magics.providers.kimi_params`).
- Account endpoints: `balance()` (``GET /v1/users/me/balance``; USD on api.moonshot.ai, CNY on
  api.moonshot.cn — https://platform.moonshot.cn/docs/api/balance) and `estimate_tokens()`
  (``POST /v1/tokenizers/estimate-token-count`` — https://platform.moonshot.ai/docs/api/estimate).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from llm_magics.errors import AuthenticationError, ConfigurationError, LLMError
from llm_magics.providers.registry import PROVIDERS, ProviderSpec
from llm_magics.providers.base import Message
from llm_magics.providers.kimi_params import apply_thinking, fixed_params, rename_max_tokens
from llm_magics.providers.openai import OpenAIProvider

__all__ = ["KimiProvider", "family_defaults", "Balance"]


@dataclass(frozen=True)
class Balance:
    """``GET /v1/users/me/balance``: available = cash + voucher; cash < 0 means money is owed."""

    available: float
    voucher: float
    cash: float
    currency: str  # not in the response: USD on api.moonshot.ai, CNY on api.moonshot.cn


@dataclass(frozen=True)
class _Family:
    matches: Callable[[str], bool]
    defaults: dict[str, Any]
    #: Parameters the model fixes server-side; sending them is an error, so they are dropped.
    fixed: frozenset[str] = frozenset()


_FAMILIES: tuple[_Family, ...] = (
    # kimi-k2.5, kimi-k2.6, …: sampling is fixed server-side (Moonshot's "Model Parameter Reference").
    _Family(lambda m: re.match(r"kimi-k2\.\d", m) is not None, {},
            frozenset({"temperature", "top_p", "n", "presence_penalty", "frequency_penalty"})),
    _Family(lambda m: "thinking" in m, {"temperature": 1.0, "max_tokens": 16000}),
    _Family(lambda m: m.startswith("kimi-k2"), {"temperature": 0.6}),
)


def _family(model: str) -> _Family | None:
    low = model.lower()
    return next((f for f in _FAMILIES if f.matches(low)), None)


def family_defaults(model: str) -> dict[str, Any]:
    """The request defaults llm-magics uses for a Kimi model ID (empty when none apply)."""
    fam = _family(model)
    return dict(fam.defaults) if fam else {}


class KimiProvider(OpenAIProvider):
    """Kimi / Moonshot chat completions (``https://api.moonshot.ai/v1`` by default)."""

    name: ClassVar[str] = PROVIDERS[PROVIDERS.KIMI].name
    stream_usage_option: ClassVar[bool] = False  # Moonshot reports usage in choices[0].usage
    reasoning_fields: ClassVar[tuple[str, ...]] = ("reasoning_content",)

    def _spec(self) -> ProviderSpec:
        return self.spec or PROVIDERS[self.name]

    def _convert_message(self, message: Message) -> dict[str, Any]:
        out = super()._convert_message(message)
        if message.get("role") == "assistant":
            think = message.get("reasoning") or message.get("reasoning_content")
            if think:
                out["reasoning_content"] = think
        return out

    def _defaults_for(self, model: str) -> dict[str, Any]:
        return family_defaults(model)

    def _check_params(self, model: str, body: dict[str, Any]) -> None:
        fam = _family(model)
        if fam is not None:
            for name in fam.fixed:
                body.pop(name, None)
        for name in fixed_params(model):
            body.pop(name, None)
        apply_thinking(model, body, self.options.get("thinking"), self.name)
        rename_max_tokens(body)
        temperature = body.get("temperature")
        if temperature is not None:
            try:
                ok = 0.0 <= float(temperature) <= 1.0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ConfigurationError(
                    f"temperature={temperature!r} is outside Kimi's range [0, 1].",
                    provider=self.name,
                    hint="Use a value between 0 and 1 (K2 models work best at 0.6, thinking models at 1.0); "
                         "check `%llm config temperature=…` or LLM_MAGICS_TEMPERATURE.",
                )

    # -- account endpoints ------------------------------------------------------------------
    @property
    def currency(self) -> str:
        """What this host bills in: CNY on the China platform, else USD."""
        host = (urlsplit(self.base_url).hostname or "").lower()
        return "CNY" if host.endswith(".cn") else "USD"

    async def balance(self) -> Balance:
        """The account balance (available, voucher, cash) in this host's currency."""
        obj = await self._json("GET", "/users/me/balance")
        data = obj.get("data") if isinstance(obj, dict) else None
        if not isinstance(data, dict) or "available_balance" not in data:
            from llm_magics.errors import ProviderError

            raise ProviderError(f"{self.host} sent no balance: {str(obj)[:200]}", provider=self.name,
                                hint="Check the base URL points at the Moonshot API (…/v1).")
        return Balance(float(data.get("available_balance") or 0), float(data.get("voucher_balance") or 0),
                       float(data.get("cash_balance") or 0), self.currency)

    async def estimate_tokens(self, messages: Sequence[Message], *, model: str | None = None) -> int:
        """Prompt tokens of `messages` for `model` by Moonshot's tokenizer; no chat request is sent."""
        chosen = self.resolve_model(model)
        body = {"model": chosen, "messages": [self._convert_message(m) for m in messages]}
        obj = await self._json("POST", "/tokenizers/estimate-token-count", body)
        data = obj.get("data") if isinstance(obj, dict) else None
        if not isinstance(data, dict) or "total_tokens" not in data:
            from llm_magics.errors import ProviderError

            raise ProviderError(f"{self.host} sent no token count: {str(obj)[:200]}", provider=self.name,
                                hint="Check the base URL points at the Moonshot API (…/v1).")
        return int(data["total_tokens"])

    def _describe_error(self, err: LLMError) -> LLMError:
        if not (isinstance(err, AuthenticationError) and err.status == 401):
            return err
        spec = self._spec()
        used = self.base_url.rstrip("/")
        regions = [u.rstrip("/") for u in spec.region_base_urls]
        others = [u for u in regions if u != used]
        pairs = "; ".join(
            f"keys from {urlsplit(u).netloc.replace('api.', 'platform.', 1)} work only with {u}" for u in regions
        )
        key = f"the key {self.key.describe()}" if self.key else "the request (no key was sent)"
        message = f"{urlsplit(used).netloc or used} ({used}) refused {key}. Kimi keys are tied to a region: {pairs}."
        env = spec.base_url_env[0] if spec.base_url_env else "the base URL"
        switch = others[0] if others else (regions[0] if regions else spec.default_base_url)
        hint = (
            f"If your key was issued for {switch}, switch with `{env}={switch}` (e.g. `%env {env}={switch}` in a "
            f"notebook) or get_provider('{self.name}', base_url='{switch}'); otherwise check or replace the key: "
            f"`%llm keys test`, `%llm keys add {self.name}`"
            + (f" (new keys: {spec.key_url})." if spec.key_url else ".")
        )
        return AuthenticationError(message, provider=err.provider, status=err.status, error_type=err.error_type,
                                   hint=hint, retry_after=err.retry_after)
