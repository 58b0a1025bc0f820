"""Any OpenAI-compatible server (vLLM, Ollama, llama.cpp, LM Studio, gateways).

The key is optional (no ``Authorization`` header without one). With no model given, the first ID
from the server's ``/models`` is used (local servers usually serve exactly one) — by streams,
`complete`, discussions, workflows and comparisons alike (`aresolve_model`). Servers that reject
``stream_options`` get the request again without it, once, and never again for this instance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar

from llm_magics.errors import BadRequestError, ConfigurationError
from llm_magics.providers.registry import PROVIDERS
from llm_magics.providers.base import Chunk, Message
from llm_magics.providers.openai import OpenAIProvider

__all__ = ["OpenAICompatibleProvider"]


class OpenAICompatibleProvider(OpenAIProvider):
    name: ClassVar[str] = PROVIDERS[PROVIDERS.OPENAI_COMPATIBLE].name
    cut_off_hint: ClassVar[str] = (
        "A llama-cpp-python server ends (or stalls) one stream when another request arrives unless it was "
        "started with --interrupt_requests false; `%llm config concurrency=1` sends one request at a time."
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._first_model: str | None = None
        self._usage_option = True

    def _body(self, messages: Sequence[Message], model: str, params: dict[str, Any], stream: bool) -> dict[str, Any]:
        body = super()._body(messages, model, params, stream)
        if not self._usage_option and "stream_options" not in params:
            body.pop("stream_options", None)
        return body

    def resolve_model(self, model: str | None) -> str:
        """Synchronous callers get the server's first model once it is known (see `aresolve_model`)."""
        if not (model or self.default_model) and self._first_model:
            return self._first_model
        return super().resolve_model(model)

    async def aresolve_model(self, model: str | None = None) -> str:
        chosen = model or self.default_model or self._first_model
        if chosen:
            return chosen
        models = await self.list_models()
        if not models:
            raise ConfigurationError(
                f"No model given and {self.host} lists no models at {self.base_url}/models.",
                provider=self.name, hint="Pass model=... (or --model) with the ID your server serves.",
            )
        self._first_model = models[0].id
        return self._first_model

    async def stream(
        self, messages: Sequence[Message], *, model: str | None = None, **params: Any
    ) -> AsyncIterator[Chunk]:
        started = False
        try:
            async for chunk in super().stream(messages, model=model, **params):
                started = True
                yield chunk
        except BadRequestError as exc:
            if started or not self._usage_option or "stream_options" not in (exc.message or ""):
                raise
            self._usage_option = False
            async for chunk in super().stream(messages, model=model, **params):
                yield chunk
