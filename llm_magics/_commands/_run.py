"""Run an orchestration coroutine from a magic with a live view, Ctrl-C and --out handled once.

The view is the ipywidgets LiveView in a Jupyter kernel (from `llm_magics.ui`, the only
ipywidgets importer) and a plain-text view elsewhere. Either way the run's final static
Markdown is displayed, and on interrupt or error the partial result is kept and stored.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any

from IPython.core.error import UsageError

from llm_magics.events import Event, EventSink, Notice, PaneClosed, PaneOpened, RunFinished, RunStarted, TextDelta

__all__ = ["run_live", "make_view", "TextView", "in_kernel"]


def in_kernel() -> bool:
    """True inside a Jupyter kernel (widgets can render), False in terminal IPython / plain Python."""
    try:
        from IPython import get_ipython

        ip = get_ipython()
    except ImportError:
        return False
    return ip is not None and getattr(ip, "kernel", None) is not None


class TextView:
    """Plain-text rendering for terminals: headers per pane, text as it completes, the final Markdown."""

    def __init__(self, stream: Any = None) -> None:
        self.out = stream or sys.stdout
        self._titles: dict[str, str] = {}
        self._text: dict[str, list[str]] = {}
        self.final_markdown: str | None = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, PaneOpened):
            self._titles[event.pane] = event.title
            self._text[event.pane] = []
        elif isinstance(event, TextDelta):
            self._text.setdefault(event.pane, []).append(event.text)
        elif isinstance(event, PaneClosed):
            title = self._titles.get(event.pane, event.pane)
            status = "" if event.status == "done" else f" [{event.status}]"
            print(f"\n── {title}{status} {event.summary}".rstrip(), file=self.out)
            body = "".join(self._text.get(event.pane, []))
            if body:
                print(body, file=self.out)
            if event.error:
                print(f"   error: {event.error}", file=self.out)
        elif isinstance(event, Notice):
            print(f"[{event.level}] {event.text}", file=self.out)
        elif isinstance(event, RunFinished):
            self.final_markdown = event.markdown

    def close(self, status: str = "done") -> None:
        self.out.flush()


def make_view() -> Any:
    """LiveView (widgets) inside a kernel, TextView elsewhere."""
    if in_kernel():
        try:
            from llm_magics.ui.live import LiveView
        except ImportError:
            return TextView()
        return LiveView()
    return TextView()


def run_live(
    shell: Any,
    start: Callable[[EventSink], Coroutine[Any, Any, Any]],
    *,
    out: str | None = None,
    view: Any = None,
) -> Any:
    """Run `start(sink)` on the llm-magics loop, rendering its events; returns the result.

    On KeyboardInterrupt the run is cancelled, its partial result (from RunStarted) is stored in
    `out` and a one-line note is printed. Our errors become a single UsageError line, after the
    partial result has been stored.
    """
    from llm_magics._sync import run_sync
    from llm_magics.errors import LLMError

    view = view if view is not None else make_view()
    live: dict[str, Any] = {}

    def sink(event: Event) -> None:
        if isinstance(event, RunStarted):
            live["run"] = event.run
        view(event)

    def keep_partial() -> Any:
        partial = live.get("run")
        if out and partial is not None and shell is not None:
            shell.user_ns[out] = partial
        return partial

    try:
        result = run_sync(start(sink))
    except KeyboardInterrupt:
        view.close("interrupted")
        partial = keep_partial()
        run_id = getattr(partial, "id", None)
        where = f" as run {run_id} (see %llm history)" if run_id else ""
        kept = f" and in `{out}`" if out and partial is not None else ""
        print(f"Interrupted: the partial result is kept{where}{kept}.", file=sys.stderr)
        return None
    except LLMError as exc:
        view.close("error")
        keep_partial()
        raise UsageError(str(exc)) from None
    view.close("done")
    if out and shell is not None:
        shell.user_ns[out] = result
    return None
