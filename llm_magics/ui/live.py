"""LiveView: the one widget renderer for discussions, workflows and comparisons.

It is an `EventSink`: orchestration calls `view(event)` (on the llm-magics loop thread) and the
magic calls `view.close(status)` at the end. Layout "transcript" is one growing column; "grid"
puts panes side by side (CSS grid that wraps), one group per `PaneOpened.group`. Each pane has
a coloured title, streaming text, a collapsed "Reasoning" accordion and a status footer. Text
updates are throttled per pane (`llm_magics.ui.throttle`) and always end with a final update.
On `RunFinished` the finished view is shown again in one output together with its static Markdown
twin: JupyterLab renders the widget once, GitHub/nbviewer/terminals read the Markdown.

DOM hooks for browser tests: every pane is `.llm-pane` (plus `.llm-pane-<status>` once closed)
holding `.llm-pane-title` (title text, `data-pane="<id>"` on its inner div), `.llm-pane-text`,
`.llm-pane-reasoning` and `.llm-pane-footer`; the whole view is `.llm-live`.
"""

from __future__ import annotations

import asyncio
import html
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from llm_magics.ui.throttle import DEFAULT_RATE, Scheduler, Throttle
from llm_magics.events import (
    Event,
    Notice,
    PaneClosed,
    PaneOpened,
    Progress,
    RunFinished,
    RunStarted,
    TextDelta,
)

__all__ = ["LiveView", "Pane"]

_STATUS_COLORS = {
    "done": "#2e7d32",
    "error": "#c62828",
    "interrupted": "#ef6c00",
    "skipped": "#757575",
    "cached": "#1565c0",
    "streaming": "#757575",
}
_NOTICE_COLORS = {"info": "#1565c0", "warning": "#ef6c00", "error": "#c62828"}
_TEXT_STYLE = (
    "white-space:pre-wrap;word-break:break-word;overflow-wrap:anywhere;"
    "line-height:1.45;max-height:32em;overflow-y:auto;margin:4px 0"
)


def _default_schedule(delay: float, callback: Callable[[], None]) -> Any:
    """Defer on the running event loop (the llm-magics loop), else on a daemon timer thread."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        timer = threading.Timer(delay, callback)
        timer.daemon = True
        timer.start()
        return timer
    return loop.call_later(delay, callback)


def _display(obj: Any) -> None:
    from IPython.display import display

    display(obj)


def _widget_bundle(widget: widgets.Widget) -> dict[str, Any]:
    """The widget-view mimetype alone (no text/plain repr, which differs from run to run)."""
    return {
        "application/vnd.jupyter.widget-view+json": {
            "version_major": 2,
            "version_minor": 0,
            "model_id": widget.model_id,
        }
    }


class Pane:
    """One live stream: its widgets, the text so far and its throttle."""

    def __init__(self, opened: PaneOpened, *, rate: float, clock: Callable[[], float], schedule: Scheduler) -> None:
        self.id = opened.pane
        self.title = opened.title
        self.group = opened.group
        self.status = "streaming"
        self._text: list[str] = []
        self._reasoning: list[str] = []
        color = html.escape(opened.color or "#607d8b", quote=True)
        tint = f"background:{color}14;" if len(color) == 7 and color.startswith("#") else ""
        sub = f' <span style="font-weight:400;opacity:.7">{html.escape(opened.subtitle)}</span>' if opened.subtitle else ""
        self.title_w = widgets.HTML(
            f'<div data-pane="{html.escape(self.id, quote=True)}" style="border-left:5px solid {color};'
            f'padding:2px 8px;font-weight:600;{tint}">'
            f"{html.escape(opened.title)}{sub}</div>"
        )
        self.title_w.add_class("llm-pane-title")
        self.text_w = widgets.HTML("")
        self.text_w.add_class("llm-pane-text")
        self.reasoning_w = widgets.HTML("")
        self.reasoning_w.add_class("llm-pane-reasoning-text")
        self.reasoning_box = widgets.Accordion(children=[self.reasoning_w], titles=("Reasoning",), selected_index=None)
        self.reasoning_box.add_class("llm-pane-reasoning")
        self.reasoning_box.layout.display = "none"
        self.footer_w = widgets.HTML(self._footer_html("streaming…", "streaming"))
        self.footer_w.add_class("llm-pane-footer")
        self.box = widgets.VBox(
            [self.title_w, self.reasoning_box, self.text_w, self.footer_w],
            layout=widgets.Layout(border="1px solid #d0d7de", padding="4px", min_width="0", margin="2px"),
        )
        self.box.add_class("llm-pane")
        self.throttle = Throttle(self._render, rate=rate, clock=clock, schedule=schedule)
        self._shown_reasoning = False

    @property
    def text(self) -> str:
        return "".join(self._text)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    @property
    def updates(self) -> int:
        """Display updates sent for this pane's text so far."""
        return self.throttle.renders

    def add(self, delta: TextDelta) -> None:
        if self.status != "streaming":
            return
        if delta.text:
            self._text.append(delta.text)
        if delta.reasoning:
            self._reasoning.append(delta.reasoning)
        if delta.text or delta.reasoning:
            self.throttle.poke()

    def _render(self) -> None:
        text, reasoning = self.text, self.reasoning
        self.text_w.value = f'<div style="{_TEXT_STYLE}">{html.escape(text)}</div>'
        if reasoning:
            if not self._shown_reasoning:
                self._shown_reasoning = True
                self.reasoning_box.layout.display = None
            self.reasoning_w.value = f'<div style="{_TEXT_STYLE};opacity:.75;font-size:90%">{html.escape(reasoning)}</div>'

    @staticmethod
    def _footer_html(text: str, status: str) -> str:
        color = _STATUS_COLORS.get(status, "#757575")
        return f'<div style="font-size:85%;color:{color}">{html.escape(text)}</div>'

    def close(self, status: str, summary: str = "", error: str | None = None) -> None:
        if self.status != "streaming":
            return
        self.throttle.flush(close=True)
        self.status = status
        parts = [] if status == "done" else [status]
        if summary:
            parts.append(summary)
        if error:
            parts.append(f"error: {error}")
        self.footer_w.value = self._footer_html(" · ".join(parts) or "done", status)
        self.box.add_class(f"llm-pane-{status}")


class LiveView:
    """Render a run's events as live widgets. Call it with events; `close()` at the end."""

    def __init__(
        self,
        *,
        rate: float = DEFAULT_RATE,
        clock: Callable[[], float] = time.monotonic,
        schedule: Scheduler | None = None,
        display: Callable[[Any], None] | None = _display,
    ) -> None:
        self._rate = rate
        self._clock = clock
        self._schedule: Scheduler = schedule or _default_schedule
        self._display = display
        self.panes: dict[str, Pane] = {}
        self.layout = "grid"
        self.final_markdown: str | None = None
        self.status: str | None = None
        self._groups: dict[str, widgets.Box] = {}
        self.title_w = widgets.HTML("")
        self.title_w.add_class("llm-live-title")
        self.progress_w = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="240px"))
        self.progress_label = widgets.Label("")
        self.progress_box = widgets.HBox([self.progress_w, self.progress_label], layout=widgets.Layout(display="none"))
        self.progress_box.add_class("llm-progress")
        self.notices = widgets.VBox([])
        self.notices.add_class("llm-notices")
        self.body = widgets.VBox([], layout=widgets.Layout(width="100%"))
        self.status_w = widgets.HTML("")
        self.status_w.add_class("llm-live-status")
        self.root = widgets.VBox([self.title_w, self.notices, self.progress_box, self.body, self.status_w])
        self.root.add_class("llm-live")
        self._handle: Any = None
        if self._display is _display:
            from IPython.display import display as ipy_display

            # Widget-only bundle, so it can be swapped out at the end (see `_finish`).
            self._handle = ipy_display(_widget_bundle(self.root), raw=True, display_id=True)
        elif self._display is not None:
            self._display(self.root)

    def _ipython_display_(self) -> None:
        _display(self.root)

    # ---- events -------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            pane = self.panes.get(event.pane)
            if pane is not None:
                pane.add(event)
        elif isinstance(event, PaneOpened):
            self._open(event)
        elif isinstance(event, PaneClosed):
            pane = self.panes.get(event.pane)
            if pane is not None:
                pane.close(event.status, event.summary, event.error)
        elif isinstance(event, Progress):
            self.progress_box.layout.display = None
            self.progress_w.max = max(event.total, 1)
            self.progress_w.value = min(event.done, max(event.total, 1))
            self.progress_label.value = f"{event.done}/{event.total} {event.label}".strip()
        elif isinstance(event, Notice):
            color = _NOTICE_COLORS.get(event.level, "#1565c0")
            line = widgets.HTML(f'<div style="color:{color};font-size:90%">{html.escape(event.text)}</div>')
            line.add_class("llm-notice")
            self.notices.children = (*self.notices.children, line)
        elif isinstance(event, RunStarted):
            self.layout = event.layout
            if event.title:
                self.title_w.value = f"<b>{html.escape(event.title)}</b>"
        elif isinstance(event, RunFinished):
            self._finish(event)

    def _container(self, group: str) -> widgets.Box:
        box = self._groups.get(group)
        if box is not None:
            return box
        if self.layout == "transcript":
            box = widgets.VBox([], layout=widgets.Layout(width="100%"))
        else:
            box = widgets.GridBox(
                [],
                layout=widgets.Layout(
                    grid_template_columns="repeat(auto-fit, minmax(300px, 1fr))", grid_gap="6px", width="100%"
                ),
            )
        box.add_class("llm-panes")
        self._groups[group] = box
        children: list[widgets.Widget] = [box]
        if group and self.layout == "grid":
            label = widgets.HTML(f"<b>{html.escape(group)}</b>")
            label.add_class("llm-group-title")
            children.insert(0, label)
        self.body.children = (*self.body.children, *children)
        return box

    def _open(self, event: PaneOpened) -> None:
        if event.pane in self.panes:
            return
        pane = Pane(event, rate=self._rate, clock=self._clock, schedule=self._schedule)
        self.panes[event.pane] = pane
        box = self._container("" if self.layout == "transcript" else event.group)
        box.children = (*box.children, pane.box)

    def _finish(self, event: RunFinished) -> None:
        for pane in self.panes.values():
            pane.throttle.flush()
        self.final_markdown = event.markdown
        self.status = event.status
        if not event.markdown:
            return
        if self._handle is not None:
            # The finished view and its static twin in ONE output: live frontends render the
            # widget (the highest-ranked mimetype), GitHub/nbviewer and terminals the Markdown, so
            # the transcript is neither missing from a saved notebook nor shown twice in
            # JupyterLab. The streaming output is emptied (an empty box) rather than updated,
            # because nbval ignores update_display_data and would then miss the Markdown.
            from IPython.display import display as ipy_display

            self._handle.update(_widget_bundle(widgets.Box([])), raw=True)
            bundle = _widget_bundle(self.root)
            bundle["text/markdown"] = event.markdown
            bundle["text/plain"] = event.markdown
            ipy_display(bundle, raw=True)
        elif self._display is not None:
            from IPython.display import Markdown

            self._display(Markdown(event.markdown))

    def close(self, status: str = "done") -> None:
        """The run is over: final update for every pane; panes still open get `status`."""
        for pane in self.panes.values():
            if pane.status == "streaming":
                pane.close(status)
            else:
                pane.throttle.flush()
        self.status = status if status != "done" else (self.status or status)
        if status != "done":
            self.status_w.value = f'<div style="color:{_STATUS_COLORS.get(status, "#757575")}">run {html.escape(status)}</div>'

    @property
    def updates(self) -> dict[str, int]:
        """Display updates sent per pane (the throttle's render count)."""
        return {pid: pane.updates for pid, pane in self.panes.items()}
