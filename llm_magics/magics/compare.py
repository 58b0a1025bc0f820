"""`%%compare TARGET … [--repeat N] [--temperature T] [--max-tokens N] [--out VAR]`: parse → acompare → render."""

from __future__ import annotations

from typing import Any

from IPython.core.error import UsageError

__all__ = ["main"]


def main(shell: Any, args: Any, cell: str) -> None:
    """Stream every target live; the view ends with the metrics table."""
    from llm_magics.magics.live import run_live
    from llm_magics.comparison.api import acompare
    from llm_magics.events import Event, EventSink, RunStarted

    prompt = (cell or "").strip()
    if not prompt:
        raise UsageError("%%compare needs a prompt in the cell body.")
    if args.repeat is not None and args.repeat < 1:
        raise UsageError(f"%%compare: --repeat {args.repeat} must be at least 1.")
    from llm_magics.magics import preflight

    if preflight.compare_gate(args, prompt):  # --estimate shown, or over budget (raises)
        return None
    thinking = preflight.thinking_options(args)
    seen: dict[str, Any] = {}

    async def start(sink: EventSink) -> Any:
        def tee(event: Event) -> None:
            if isinstance(event, RunStarted):
                seen["run"] = event.run
            sink(event)

        targets: list[Any] = list(args.targets)
        owned: list[Any] = []
        if thinking:  # each target's provider built with the thinking option (Kimi sends it)
            from llm_magics.comparison.api import parse_target
            from llm_magics.keys.resolve import default_provider_name, get_provider

            for i, t in enumerate(targets):
                name, model = parse_target(t, default_provider_name())
                owned.append(get_provider(name, **thinking))
                targets[i] = (owned[-1], model)
        try:
            return await acompare(
                prompt, targets, repeat=args.repeat or 1, temperature=args.temperature,
                max_tokens=getattr(args, "max_tokens", None), on_event=tee,
            )
        finally:
            for p in owned:
                await p.aclose()

    # The view shows the table when the run ends (widget in a kernel, text in a terminal).
    run_live(shell, start, out=args.out)
