"""LiveView: the one widget renderer for discussions, workflows and comparisons.

It is an `EventSink`: orchestration calls `view(event)` (on the llm-magics loop thread) and the
magic calls `view.close(status)` at the end. Nothing is drawn until the run starts (`RunStarted`),
so an argument error (unknown persona, bad YAML, `--rounds 0`) leaves no empty view behind.

Layout "transcript" is one growing column; "grid" puts panes side by side (CSS grid that wraps),
one group per `PaneOpened.group`. Each pane has a coloured title, streaming text, a "Reasoning"
accordion (its title counts reasoning tokens and seconds while a thinking model thinks; open it
to watch) and a status footer. Above the panes: a workflow's step list, updated as steps start
and finish, and, for a finished comparison, its metrics table. Below: the totals line (calls, labelled
tokens, time, cost) and, if something failed, one line saying what (each error text itself is
shown once, in its pane). Text updates are throttled per pane (`llm_magics.ui.throttle`).
On `RunFinished` the finished view is shown again in one output together with its static
Markdown twin: JupyterLab renders the widget once, GitHub/nbviewer/terminals read the Markdown.

DOM hooks for browser tests: every pane is `.llm-pane` (plus `.llm-pane-<status>` once closed)
holding `.llm-pane-title` (title text, `data-pane="<id>"` on its inner div), `.llm-pane-text`,
`.llm-pane-reasoning` and `.llm-pane-footer`; the whole view is `.llm-live`; the step list is
`.llm-steps` (a `table.llm-steps-table`), the comparison table `.llm-compare-summary`
(`table.llm-compare-table`), the totals `.llm-totals` and the failure line `.llm-live-status`.
"""

from __future__ import annotations

import asyncio
import html
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from llm_magics.events import (
    Event,
    Notice,
    PaneClosed,
    PaneOpened,
    Progress,
    RunFinished,
    RunStarted,
    TextDelta,
    Waiting,
)
from llm_magics.fmt import fmt_seconds
from llm_magics.ui.throttle import DEFAULT_RATE, Scheduler, Throttle

__all__ = ["LiveView", "Pane", "notice_html"]

_STATUS_COLORS = {
    "done": "#2e7d32",
    "error": "#c62828",
    "interrupted": "#ef6c00",
    "skipped": "#757575",
    "cached": "#1565c0",
    "streaming": "#757575",
}
_NOTICE_COLORS = {"info": "#1565c0", "warning": "#ef6c00", "error": "#c62828"}
_NOTICE_ICONS = {"info": "ℹ️", "warning": "⚠️", "error": "❌"}
_TEXT_STYLE = (
    "white-space:pre-wrap;word-break:break-word;overflow-wrap:anywhere;"
    "line-height:1.45;max-height:32em;overflow-y:auto;margin:4px 0"
)
#: A column-reverse box stays scrolled to its newest line while reasoning streams in.
_REASONING_STYLE = (
    "display:flex;flex-direction:column-reverse;max-height:20em;overflow-y:auto;"
    "opacity:.75;font-size:90%;margin:2px 0"
)
_TICK_S = 1.0
_CODE = re.compile(r"`([^`\n]+)`")


def notice_html(text: str, level: str = "info") -> str:
    """A notice as one line of HTML: `code` spans become <code>, one colour per level."""
    color = _NOTICE_COLORS.get(level, _NOTICE_COLORS["info"])
    icon = _NOTICE_ICONS.get(level, "")
    body = _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(text))
    return f'<div style="color:{color};font-size:90%">{icon} {body}</div>'


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
    """One live stream: its widgets, the text so far, its reasoning clock and its throttle."""

    def __init__(self, opened: PaneOpened, *, rate: float, clock: Callable[[], float], schedule: Scheduler) -> None:
        self.id = opened.pane
        self.title = opened.title
        self.group = opened.group
        self.status = "streaming"
        self.error: str | None = None
        #: "waiting for the rate limit: …" while the request is queued (cleared by the first chunk).
        self.waiting: str | None = None
        self._clock = clock
        self._opened_at = clock()
        self._reasoning_at: float | None = None  # first reasoning chunk
        self._text_at: float | None = None  # first answer chunk (reasoning ends here)
        self._reasoning_chunks = 0
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
    def reasoning_tokens(self) -> int:
        """Reasoning chunks received: about one token each (the provider's count comes at the end)."""
        return self._reasoning_chunks

    @property
    def updates(self) -> int:
        """Display updates sent for this pane's text so far."""
        return self.throttle.renders

    def add(self, delta: TextDelta) -> None:
        if self.status != "streaming":
            return
        now = None
        if delta.reasoning:
            self._reasoning.append(delta.reasoning)
            self._reasoning_chunks += 1
            if self._reasoning_at is None:
                self._reasoning_at = now = self._clock()
        if delta.text:
            self._text.append(delta.text)
            if self._text_at is None:
                self._text_at = now if now is not None else self._clock()
        if delta.text or delta.reasoning:
            self.waiting = None
            self.throttle.poke()

    def thinking_seconds(self, now: float | None = None) -> float | None:
        """How long the model has reasoned (until its first answer token); None if it has not."""
        if self._reasoning_at is None:
            return None
        end = self._text_at if self._text_at is not None else (self._clock() if now is None else now)
        return max(0.0, end - self._reasoning_at)

    def _reasoning_title(self) -> str:
        secs = self.thinking_seconds()
        timing = f" · {fmt_seconds(secs)}" if secs is not None else ""
        live = "thinking… " if self.status == "streaming" and self._text_at is None else ""
        return f"Reasoning · {live}≈{self._reasoning_chunks:,} tok{timing}"

    def _render(self) -> None:
        text, reasoning = self.text, self.reasoning
        self.text_w.value = f'<div style="{_TEXT_STYLE}">{html.escape(text)}</div>'
        if reasoning:
            if not self._shown_reasoning:
                self._shown_reasoning = True
                self.reasoning_box.layout.display = None
            self.reasoning_w.value = (
                f'<div style="{_REASONING_STYLE}"><div style="white-space:pre-wrap;word-break:break-word">'
                f"{html.escape(reasoning)}</div></div>"
            )
            self.reasoning_box.titles = (self._reasoning_title(),)
        if self.status == "streaming":
            self.tick()

    def tick(self) -> None:
        """Refresh the footer's running clock (and the reasoning title) while streaming."""
        if self.status != "streaming":
            return
        elapsed = fmt_seconds(max(0.0, self._clock() - self._opened_at))
        if self.waiting:
            label = f"⏳ {self.waiting} · {elapsed}"
        elif self._reasoning_at is not None and self._text_at is None:
            self.reasoning_box.titles = (self._reasoning_title(),)
            label = f"thinking… ≈{self._reasoning_chunks:,} reasoning tok · {elapsed} (open Reasoning to watch)"
        else:
            label = f"streaming… {elapsed}"
        self.footer_w.value = self._footer_html(label, "streaming")

    @staticmethod
    def _footer_html(text: str, status: str, detail: str = "") -> str:
        color = _STATUS_COLORS.get(status, "#757575")
        more = (f'<div style="white-space:pre-wrap;word-break:break-word;line-height:1.35">{html.escape(detail)}</div>'
                if detail else "")
        return f'<div style="font-size:85%;color:{color}">{html.escape(text)}{more}</div>'

    def close(self, status: str, summary: str = "", error: str | None = None) -> None:
        if self.status != "streaming":
            return
        self.throttle.flush(close=True)
        self.status = status
        self.error = error if status == "error" else None
        if self._shown_reasoning:
            self.reasoning_box.titles = (self._reasoning_title(),)
        # One footer line: the status word once, the summary if it adds anything, the error text
        # (which is shown here and nowhere else) on its own line below.
        extra = summary if summary and summary not in (status, "error", "failed") else ""
        if status == "done":
            head, detail = extra or "done", ""
        elif status == "error":
            head, detail = "✗ failed" + (f" · {extra}" if extra else ""), error or ""
        elif status == "skipped":
            head, detail = "skipped" + (f": {error}" if error else ""), ""
        else:
            head = status + (f" · {extra}" if extra else "")
            detail = error if error and error != "interrupted before the answer finished" else ""
        self.footer_w.value = self._footer_html(head, status, detail)
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
        self.kind = ""
        self.run: Any = None
        self.final_markdown: str | None = None
        self.status: str | None = None
        self.shown = False
        self._started_at: float | None = None
        self._finished_at: float | None = None
        self._active = False
        self._notice_texts: set[str] = set()
        self._progress: tuple[int, int, str] | None = None
        self._groups: dict[str, widgets.Box] = {}
        self.title_w = widgets.HTML("")
        self.title_w.add_class("llm-live-title")
        self.progress_w = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="240px"))
        self.progress_label = widgets.Label("")
        self.progress_box = widgets.HBox([self.progress_w, self.progress_label], layout=widgets.Layout(display="none"))
        self.progress_box.add_class("llm-progress")
        self.notices = widgets.VBox([])
        self.notices.add_class("llm-notices")
        self.summary_w = widgets.HTML("", layout=widgets.Layout(display="none"))
        self.summary_w.add_class("llm-summary")
        self.body = widgets.VBox([], layout=widgets.Layout(width="100%"))
        self.totals_w = widgets.HTML("", layout=widgets.Layout(display="none"))
        self.totals_w.add_class("llm-totals")
        self.status_w = widgets.HTML("")
        self.status_w.add_class("llm-live-status")
        self.root = widgets.VBox(
            [self.title_w, self.notices, self.progress_box, self.summary_w, self.body, self.totals_w, self.status_w]
        )
        self.root.add_class("llm-live")
        self._handle: Any = None

    def _show(self) -> None:
        """Draw the view (once, when the run has started: argument errors never draw anything)."""
        if self.shown:
            return
        self.shown = True
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
            return
        self._show()
        if isinstance(event, PaneOpened):
            self._open(event)
            self._refresh_summary()
        elif isinstance(event, PaneClosed):
            pane = self.panes.get(event.pane)
            if pane is not None:
                pane.close(event.status, event.summary, event.error)
            self._refresh_summary()
            self._refresh_progress()
        elif isinstance(event, Progress):
            self._progress = (event.done, event.total, event.label)
            self._refresh_progress()
            self._refresh_summary()
        elif isinstance(event, Notice):
            self._notice(event)
        elif isinstance(event, Waiting):
            pane = self.panes.get(event.pane)
            if pane is not None:
                pane.waiting = event.text or None
                pane.tick()
        elif isinstance(event, RunStarted):
            self.layout = event.layout
            self.kind = event.kind
            self.run = event.run
            self._started_at = self._clock()
            if event.title:
                self.title_w.value = f"<b>{html.escape(event.title)}</b>"
            self._active = True
            self._schedule(_TICK_S, self._tick)
            self._refresh_summary()
        elif isinstance(event, RunFinished):
            self._finish(event)

    def _notice(self, event: Notice) -> None:
        if event.text in self._notice_texts:
            return
        self._notice_texts.add(event.text)
        line = widgets.HTML(notice_html(event.text, event.level))
        line.add_class("llm-notice")
        self.notices.children = (*self.notices.children, line)

    def _tick(self) -> None:
        """Once a second while running: pane clocks, reasoning counters, the step list's times."""
        if not self._active:
            return
        for pane in self.panes.values():
            pane.tick()
        if self.kind == "workflow":
            self._refresh_summary()
        self._schedule(_TICK_S, self._tick)

    @property
    def failed_panes(self) -> list[Pane]:
        return [p for p in self.panes.values() if p.status == "error"]

    @property
    def errors(self) -> list[str]:
        """The error texts shown in pane footers (so the magic does not show them again)."""
        return [p.error for p in self.failed_panes if p.error]

    def _refresh_progress(self) -> None:
        if self._progress is None:
            return
        done, total, label = self._progress
        self.progress_box.layout.display = None
        self.progress_w.max = max(total, 1)
        self.progress_w.value = min(done, max(total, 1))
        failed = len(self.failed_panes)
        text = f"{done}/{total}" + (f" · {label}" if label else "")
        if failed:
            text += f" · ✗ {failed} failed"
            self.progress_w.bar_style = "danger"
        self.progress_label.value = text

    def _refresh_summary(self, final: bool = False) -> None:
        """The workflow step list (live, as steps start and finish) or the comparison table (at the end)."""
        run = self.run
        if run is None:
            return
        from llm_magics.ui import summary

        if self.kind == "workflow" and getattr(run, "steps", None):
            self.summary_w.value = summary.step_list_html(run)
            self.summary_w.add_class("llm-steps")
        elif self.kind == "compare" and getattr(run, "rows", None):
            if not final:  # mid-run a row's metrics are not settled: the table comes when the run ends
                return
            self.summary_w.value = summary.compare_table_html(run)
            self.summary_w.add_class("llm-compare-summary")
        else:
            return
        self.summary_w.layout.display = None

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

    def _end_widgets(self, status: str) -> None:
        """Totals line, bar colour and the one failure line; called once when the run ends."""
        self._active = False
        if self._finished_at is None:
            self._finished_at = self._clock()
        self._refresh_summary(final=True)
        from llm_magics.ui import summary

        totals = summary.totals_of(self.run) if self.run is not None else None
        if totals is not None and totals.calls:
            seconds = self._finished_at - self._started_at if self._started_at is not None else None
            self.totals_w.value = (
                f'<div style="font-size:90%;opacity:.85;margin-top:4px"><b>Total</b> · {html.escape(totals.text(seconds))}</div>'
            )
            self.totals_w.layout.display = None
        failed = summary.failure_line(self.run) if self.run is not None else ""
        if self._progress is not None:  # the bar ends full, its colour and label say how it ended
            n_failed = len(self.failed_panes)
            if status != "interrupted":
                self.progress_w.value = self.progress_w.max
            self.progress_label.value = {"interrupted": "interrupted"}.get(status, "finished") + (
                f" · ✗ {n_failed} failed" if n_failed else "")
        if status in ("error", "failed") or failed or self.failed_panes:
            self.progress_w.bar_style = "danger"
        elif status == "interrupted":
            self.progress_w.bar_style = "warning"
        elif status == "done":
            self.progress_w.bar_style = "success"
        if failed and status != "interrupted":
            self.status_w.value = (
                f'<div style="color:{_STATUS_COLORS["error"]}">✗ '
                + _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", html.escape(failed)) + "</div>"
            )

    def _finish(self, event: RunFinished) -> None:
        for pane in self.panes.values():
            pane.throttle.flush()
        self.final_markdown = event.markdown
        self.status = event.status
        self._end_widgets(event.status)
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
        if self._active and self.shown:  # ended without RunFinished (interrupt, crash)
            self._end_widgets(status)
        self._active = False

    @property
    def updates(self) -> dict[str, int]:
        """Display updates sent per pane (the throttle's render count)."""
        return {pid: pane.updates for pid, pane in self.panes.items()}
