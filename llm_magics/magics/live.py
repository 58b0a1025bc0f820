"""Run an orchestration coroutine from a magic with a live view, Ctrl-C and --out handled once.

The view is the ipywidgets LiveView in a Jupyter kernel (from `llm_magics.ui`, the only
ipywidgets importer) and a plain-text view elsewhere. Either way the run's final static
Markdown is displayed, and on interrupt or error the partial result is kept and stored.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from IPython.core.error import UsageError

from llm_magics.events import Event, EventSink, Notice, RunStarted
from llm_magics.magics.textview import TextView

__all__ = ["run_live", "end_interrupted", "RunInterrupted", "make_view", "TextView", "in_kernel"]


def in_kernel() -> bool:
    """True inside a Jupyter kernel (widgets can render), False in terminal IPython / plain Python."""
    try:
        from IPython.core.getipython import get_ipython  # IPython 8.x does not re-export it

        ip = get_ipython()
    except ImportError:
        return False
    return ip is not None and getattr(ip, "kernel", None) is not None


def make_view() -> Any:
    """LiveView (widgets) inside a kernel, TextView elsewhere."""
    if in_kernel():
        try:
            from llm_magics.ui.live import LiveView
        except ImportError:
            return TextView()
        return LiveView()
    return TextView()


class RunInterrupted(KeyboardInterrupt):
    """The KeyboardInterrupt a magic re-raises after keeping its partial result.

    A KeyboardInterrupt (so `except KeyboardInterrupt` and Jupyter treat it as one) that IPython
    shows as one line instead of a traceback through llm-magics' frames.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"KeyboardInterrupt: {self}"]


def end_interrupted(shell: Any, partial: Any, out: str | None) -> NoReturn:
    """End an interrupted magic: keep `partial` in `out`, print one note, raise KeyboardInterrupt.

    Raising (instead of returning) is what makes the kernel reply "error", so Jupyter aborts the
    queued cells of a "Run All" instead of sending more paid requests. Every magic that catches
    KeyboardInterrupt to keep a partial result ends through here.
    """
    __tracebackhide__ = True
    if out and partial is not None and shell is not None:
        shell.user_ns[out] = partial
    run_id = getattr(partial, "id", None)
    where = f" as run {run_id} (see %llm history)" if run_id else ""
    kept = f" and in `{out}`" if out and partial is not None else ""
    print(f"Interrupted: the partial result is kept{where}{kept}.", file=sys.stderr)
    what = f"run {run_id}" if run_id else "the run"
    raise RunInterrupted(f"{what} stopped; cells queued after this one are not run.") from None


class RunFailed(Exception):
    """Ends a magic whose failure its view already shows: the cell ends as an error (the kernel
    replies "error", so "Run All" stops), and IPython prints one pointer line, not the message again."""

    def _render_traceback_(self) -> list[str]:
        return [f"RunFailed: {self}"]


def _already_shown(view: Any, exc: BaseException) -> bool:
    """True when a pane of `view` already shows this error's text."""
    message = getattr(exc, "message", None) or str(exc)
    return any(message in shown for shown in getattr(view, "errors", ()) or ())


def run_live(
    shell: Any,
    start: Callable[[EventSink], Coroutine[Any, Any, Any]],
    *,
    out: str | None = None,
    view: Any = None,
) -> Any:
    """Run `start(sink)` on the llm-magics loop, rendering its events; returns the result.

    On KeyboardInterrupt the run is cancelled, its partial result (from RunStarted) is stored in
    `out`, a one-line note is printed and KeyboardInterrupt is raised again (`end_interrupted`),
    so the kernel replies "error" and Jupyter aborts the queued cells ("Run All" stops) exactly
    as for an interrupted plain Python cell. Our errors become a single UsageError line, after
    the partial result has been stored; when the view already shows them in a pane, the cell
    ends with a one-line `RunFailed` pointer instead (each error is shown once, and a failed
    run still stops "Run All"). Notices marked `once` are shown once per session.
    """
    __tracebackhide__ = True  # IPython shows the note and "KeyboardInterrupt", not our frames
    from llm_magics.sync import run_sync
    from llm_magics.errors import LLMError

    view = view if view is not None else make_view()
    live: dict[str, Any] = {}

    def sink(event: Event) -> None:
        if isinstance(event, RunStarted):
            live["run"] = event.run
        elif isinstance(event, Notice) and event.once:
            from llm_magics import config

            if not config.first_time("notice:" + event.text):
                return  # e.g. "No Kimi key found": once per session, not in every output
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
        end_interrupted(shell, live.get("run"), out)
    except LLMError as exc:
        view.close("error")
        keep_partial()
        if _already_shown(view, exc):
            # The pane shows the error and the view says what failed: not a third time, but the
            # cell still ends as failed so the cells queued after it do not run.
            raise RunFailed("the run failed as shown above; cells queued after this one are not run.") from None
        raise UsageError(str(exc)) from None
    view.close("done")
    if out and shell is not None:
        shell.user_ns[out] = result
    return None
