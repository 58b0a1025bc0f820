"""`%%discuss`: the cell is the topic; personas discuss it with live panes (see `discussion.adiscuss`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from IPython.core.error import UsageError

__all__ = ["main", "interpolate"]

_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def interpolate(text: str, namespace: Mapping[str, Any]) -> str:
    """Replace `{name}` by the variable's str(); `{{`/`}}` are literal braces.

    Only plain names are expanded (no attribute access, indexing or format specs, unlike
    str.format), and unknown names are left as written, so code in the topic survives.
    """

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = m.group(1)
        return str(namespace[name]) if name in namespace else token

    return _FIELD.sub(sub, text)


def main(shell: Any, args: Any, cell: str | None, local_ns: Mapping[str, Any] | None = None) -> Any:
    from llm_magics.magics.live import run_live
    from llm_magics.discussion.api import adiscuss

    topic = cell or ""
    if args.interpolate:
        namespace: dict[str, Any] = dict(getattr(shell, "user_ns", {}) or {})
        namespace.update(local_ns or {})
        topic = interpolate(topic, namespace)
    if not topic.strip():
        raise UsageError(
            "%%discuss needs a topic: write it in the cell below the magic line, e.g.\n"
            '%%discuss --personas "Noor Okafor, Sasha Lindqvist"\nShould we adopt Rust for the billing service?'
        )
    personas = args.personas.strip().strip("\"'") if args.personas else None
    chair = args.chair.strip().strip("\"'") if args.chair else None
    from llm_magics.magics import preflight

    if preflight.discuss_gate(args, topic, personas, chair):  # --estimate shown, or over budget (raises)
        return None
    thinking = preflight.thinking_options(args)

    async def start(sink: Any) -> Any:
        from llm_magics.keys.resolve import get_provider

        prov = get_provider(args.provider, model=args.model, **thinking) if thinking else args.provider
        try:
            return await _discuss(sink, prov)
        finally:
            if thinking:
                await prov.aclose()

    def _discuss(sink: Any, prov: Any) -> Any:
        return adiscuss(
            topic,
            personas or None,
            mode=args.mode,
            rounds=args.rounds,
            provider=prov,
            model=args.model,
            temperature=args.temperature,
            max_tokens=args.max_tokens,
            chair=chair,
            aggregator=args.aggregator or "synthesize",
            on_event=sink,
            baselines=args.baselines,
            seed=args.seed,
        )

    return run_live(shell, start, out=args.out)
