"""EvalView: the live widget view of `%%eval` — one progress bar and a per-target table.

An `EventSink` like `LiveView`: the runner's `RunStarted` hands over the live `EvalResult`, every
`Progress` pokes a throttle that re-renders at most 4 times a second (`RATE`), reading the
result's cheap live summary (no bootstrap while running). The progress line shows done/total,
calls per minute (of this session's calls) and the ETA; under it, while calls queue for the
shared rate limit (`Waiting` events), one line says so, why and for about how long. On `RunFinished` the finished view is
shown once more together with its static twins — Markdown, HTML and, when matplotlib is
installed, a PNG chart of score ± CI per target — so a saved notebook shows the result on GitHub.

DOM hooks for browser tests: `.llm-eval-live` (the whole view), `.llm-eval-progress`,
`.llm-eval-wait`, `.llm-eval-table`, `.llm-notice`.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from llm_magics.evaluation.render import progress_text, wait_text
from llm_magics.events import Event, Notice, Progress, RunFinished, RunStarted, Waiting
from llm_magics.ui.live import _default_schedule, _display, _widget_bundle
from llm_magics.ui.throttle import Scheduler, Throttle

__all__ = ["EvalView", "RATE"]

#: Table refreshes per second at most (the issue's ceiling).
RATE = 4.0
_NOTICE_COLORS = {"info": "#1565c0", "warning": "#ef6c00", "error": "#c62828"}


class EvalView:
    """Render an eval's events as a progress bar and a live table; `close()` at the end."""

    def __init__(
        self,
        *,
        rate: float = RATE,
        clock: Callable[[], float] = time.monotonic,
        schedule: Scheduler | None = None,
        display: Callable[[Any], None] | None = _display,
    ) -> None:
        self._clock = clock
        self._display = display
        self.run: Any = None
        self.status: str | None = None
        self.final_markdown: str | None = None
        self._t0: float | None = None
        self._first_done: int | None = None
        self._done = 0
        self._total = 0
        self.title_w = widgets.HTML("")
        self.notices = widgets.VBox([])
        self.bar = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="320px"))
        self.label = widgets.Label("")
        self.progress = widgets.HBox([self.bar, self.label])
        self.progress.add_class("llm-eval-progress")
        self.wait_w = widgets.HTML("")
        self.wait_w.add_class("llm-eval-wait")
        #: call → its "waiting for the rate limit …" text, while it queues (oldest first).
        self._waiting: dict[str, str] = {}
        self._wait_lock = threading.Lock()  # events on the loop thread, renders maybe on a timer
        self.table = widgets.HTML("")
        self.table.add_class("llm-eval-table")
        self.status_w = widgets.HTML("")
        self.root = widgets.VBox([self.title_w, self.notices, self.progress, self.wait_w, self.table, self.status_w])
        self.root.add_class("llm-eval-live")
        self.throttle = Throttle(self._render, rate=rate, clock=clock, schedule=schedule or _default_schedule)
        self._handle: Any = None
        if self._display is _display:
            from IPython.display import display as ipy_display

            self._handle = ipy_display(_widget_bundle(self.root), raw=True, display_id=True)
        elif self._display is not None:
            self._display(self.root)

    @property
    def renders(self) -> int:
        return self.throttle.renders

    def __call__(self, event: Event) -> None:
        if isinstance(event, Progress):
            if self._t0 is None:
                self._t0, self._first_done = self._clock(), event.done
            self._done, self._total = event.done, event.total
            self.throttle.poke()
        elif isinstance(event, Waiting):
            with self._wait_lock:
                self._waiting.pop(event.pane, None)
                if event.text:  # empty: the call was sent, its wait is over
                    self._waiting[event.pane] = event.text
            self.throttle.poke()
        elif isinstance(event, RunStarted):
            self.run = event.run
            self.title_w.value = f"<b>{html.escape(event.title)}</b>"
        elif isinstance(event, Notice):
            from llm_magics.ui.live import notice_html

            line = widgets.HTML(notice_html(event.text, event.level))  # one look for notices in every view
            line.add_class("llm-notice")
            self.notices.children = (*self.notices.children, line)
        elif isinstance(event, RunFinished):
            self._finish(event)

    def _render(self) -> None:
        sent = self._done - (self._first_done or 0)
        elapsed = self._clock() - self._t0 if self._t0 is not None else 0.0
        self.bar.max = max(self._total, 1)
        self.bar.value = min(self._done, self.bar.max)
        self.label.value = progress_text(self._done, self._total, sent, elapsed)
        with self._wait_lock:
            waiting = wait_text(self._waiting)
        self.wait_w.value = f'<div style="color:#ef6c00">⏳ {html.escape(waiting)}</div>' if waiting else ""
        if self.run is not None:
            from llm_magics.evaluation.render import to_html

            self.table.value = to_html(self.run, self.run.live_summary(), footer=False)

    def _stop_waiting(self) -> None:
        with self._wait_lock:
            self._waiting.clear()
        self.wait_w.value = ""

    def _finish(self, event: RunFinished) -> None:
        self.throttle.flush(close=True)
        self._stop_waiting()
        self.status = event.status
        self.final_markdown = event.markdown
        if self.run is not None:
            from llm_magics.evaluation.render import png, to_html

            self.table.value = to_html(self.run)  # the final numbers (bootstrap CIs) and the paired line
            chart = png(self.run)
        else:
            chart = None
        if self._handle is not None:
            # As LiveView: the finished widget and its static twins in ONE output, the live one emptied.
            from IPython.display import display as ipy_display

            self._handle.update(_widget_bundle(widgets.Box([])), raw=True)
            bundle = _widget_bundle(self.root)
            bundle["text/markdown"] = event.markdown
            bundle["text/plain"] = event.markdown
            ipy_display(bundle, raw=True)
            if chart is not None:
                ipy_display({"image/png": chart}, raw=True)
        elif self._display is not None:
            from IPython.display import Markdown

            self._display(Markdown(event.markdown))

    def close(self, status: str = "done") -> None:
        self.throttle.flush()
        self._stop_waiting()
        if status == "interrupted":  # an error before the run is one UsageError line; nothing to add here
            self.status = status
            self.status_w.value = '<div style="color:#ef6c00">eval interrupted: every finished call is kept</div>'
