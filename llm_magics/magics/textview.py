"""TextView: the plain-text live view for terminal IPython and scripts (no widgets).

A "transcript" run (one speaker at a time) streams its text as it arrives, reasoning included
(dimmed). A "grid" run (many panes at once) cannot interleave answers on one terminal, so each
pane is printed whole when it closes, reasoning first; meanwhile, on a terminal, one status line
(rewritten in place) shows every open pane's growing token count, so the run never looks hung.
At the end: the comparison table or the workflow step list, the totals line and, if something
failed, one line saying what (each error text itself is printed once, where it happened).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from llm_magics.events import Event, Notice, PaneClosed, PaneOpened, RunFinished, RunStarted, TextDelta, Waiting

__all__ = ["TextView"]

_DIM, _RESET = "\x1b[2m", "\x1b[0m"
_STATUS_EVERY_S = 0.2


class TextView:
    """Render a run's events as text on `stream` (stdout by default)."""

    def __init__(self, stream: Any = None, *, clock: Callable[[], float] = time.monotonic,
                 tty: bool | None = None, width: int = 100) -> None:
        self.out = stream or sys.stdout
        isatty = getattr(self.out, "isatty", None)
        self.tty = bool(isatty()) if tty is None and callable(isatty) else bool(tty)
        self.width = width
        self._clock = clock
        self._live = False
        self._titles: dict[str, str] = {}
        self._text: dict[str, list[str]] = {}
        self._reasoning: dict[str, list[str]] = {}
        self._open: list[str] = []
        self._in_reasoning: str | None = None  # transcript mode: pane whose reasoning is being printed
        self._status_shown = False
        self._status_at = -1.0
        self.kind = ""
        self.run: Any = None
        self.errors: list[str] = []
        self.final_markdown: str | None = None
        self._started_at: float | None = None
        self._ended = False

    # ---- output helpers --------------------------------------------------------------------
    def _write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def _dim(self, text: str) -> str:
        return f"{_DIM}{text}{_RESET}" if self.tty else text

    def _clear_status(self) -> None:
        if self._status_shown:
            self._write("\r\x1b[K")
            self._status_shown = False

    def _status(self, force: bool = False) -> None:
        """One line, rewritten in place: each open pane and how far it has got."""
        if not self.tty or self._live or not self._open:
            return
        now = self._clock()
        if not force and now - self._status_at < _STATUS_EVERY_S:
            return
        self._status_at = now
        bits = []
        for pid in self._open:
            n_text, n_reason = len(self._text.get(pid, [])), len(self._reasoning.get(pid, []))
            what = f"≈{n_text} tok" if n_text or not n_reason else f"thinking ≈{n_reason} tok"
            bits.append(f"{self._titles.get(pid, pid).split(' · ')[0]}: {what}")
        line = "⏳ " + " · ".join(bits)
        if len(line) > self.width:
            line = line[: self.width - 1] + "…"
        self._write("\r\x1b[K" + self._dim(line))
        self._status_shown = True

    # ---- events ----------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        if isinstance(event, TextDelta):
            self._delta(event)
        elif isinstance(event, RunStarted):
            self._live = event.layout == "transcript"
            self.kind, self.run = event.kind, event.run
            self._started_at = self._clock()
        elif isinstance(event, PaneOpened):
            self._titles[event.pane] = event.title
            self._text[event.pane], self._reasoning[event.pane] = [], []
            self._open.append(event.pane)
            if self._live:
                self._write(f"\n── {event.title}\n")
            else:
                self._status(force=True)
        elif isinstance(event, PaneClosed):
            self._closed(event)
        elif isinstance(event, Notice):
            self._clear_status()
            self._write(f"[{event.level}] {event.text}\n")
            self._status(force=True)
        elif isinstance(event, Waiting) and event.text:
            self._clear_status()
            self._write(f"[wait] {self._titles.get(event.pane, event.pane).split(' · ')[0]}: {event.text}\n")
            self._status(force=True)
        elif isinstance(event, RunFinished):
            self.final_markdown = event.markdown
            self._end()

    def _delta(self, event: TextDelta) -> None:
        if event.reasoning:
            self._reasoning.setdefault(event.pane, []).append(event.reasoning)
        if event.text:
            self._text.setdefault(event.pane, []).append(event.text)
        if not self._live:
            self._status()
            return
        if event.reasoning:
            if self._in_reasoning != event.pane:
                self._in_reasoning = event.pane
                self._write(self._dim("[reasoning] "))
            self._write(self._dim(event.reasoning))
        if event.text:
            if self._in_reasoning == event.pane:
                self._in_reasoning = None
                self._write("\n")
            self._write(event.text)

    def _closed(self, event: PaneClosed) -> None:
        if event.pane in self._open:
            self._open.remove(event.pane)
        status = "" if event.status == "done" else f"[{event.status}] "
        summary = event.summary if event.summary not in (event.status, "error", "failed") else ""
        if event.status == "error" and event.error:
            self.errors.append(event.error)
        if self._live:
            self._in_reasoning = None
            self._write(f"\n   {status}{summary}".rstrip(" ") + "\n" if status or summary else "\n")
        else:
            self._clear_status()
            title = self._titles.get(event.pane, event.pane)
            self._write(f"\n── {title} {status}{summary}".rstrip() + "\n")
            reasoning = "".join(self._reasoning.get(event.pane, []))
            if reasoning.strip():
                self._write(self._dim("[reasoning]\n" + reasoning.strip()) + "\n")
            body = "".join(self._text.get(event.pane, []))
            if body:
                self._write(body + "\n")
        if event.error and event.status not in ("interrupted",):
            label = "error" if event.status == "error" else event.status
            self._write(f"   {label}: {event.error}\n")
        self._status(force=True)

    def _end(self) -> None:
        """The comparison table or step list, the totals line, the failure line: once."""
        if self._ended:
            return
        self._ended = True
        self._clear_status()
        run = self.run
        if run is None:
            return
        from llm_magics.ui import summary

        if self.kind == "compare" and hasattr(run, "table"):
            self._write("\n" + run.table() + "\n")
        elif self.kind == "workflow" and getattr(run, "steps", None):
            self._write("\n" + summary.step_list_text(run) + "\n")
        totals = summary.totals_of(run)
        if totals is not None and totals.calls:
            secs = self._clock() - self._started_at if self._started_at is not None else None
            self._write(f"Total · {totals.text(secs)}\n")
        failed = summary.failure_line(run)
        if failed:
            self._write(f"✗ {failed}\n")
        run_id = getattr(run, "id", "")
        if run_id and self.kind == "compare":
            self._write(f"(run {run_id}; `%llm history show {run_id}` for the full Markdown)\n")

    def close(self, status: str = "done") -> None:
        self._clear_status()
        self.out.flush()
