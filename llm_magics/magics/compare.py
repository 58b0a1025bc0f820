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
    seen: dict[str, Any] = {}

    def start(sink: EventSink) -> Any:
        def tee(event: Event) -> None:
            if isinstance(event, RunStarted):
                seen["run"] = event.run
            sink(event)

        return acompare(
            prompt, list(args.targets), repeat=args.repeat or 1, temperature=args.temperature,
            max_tokens=getattr(args, "max_tokens", None), on_event=tee,
        )

    # The view shows the table when the run ends (widget in a kernel, text in a terminal).
    run_live(shell, start, out=args.out)
