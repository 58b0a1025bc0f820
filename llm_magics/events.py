"""Display events: what orchestration tells renderers, and nothing more.

Orchestration (`discussion`, `workflow`, `compare`) calls an `EventSink` (any callable taking an
`Event`) as work happens; renderers (`llm_magics.ui`, or plain text in a terminal) subscribe. A
"pane" is one live stream: a persona's answer, a workflow step or a compare target. Sinks run on
the llm-magics loop thread and must be quick; renderers throttle their own updates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Union

__all__ = [
    "RunStarted",
    "PaneOpened",
    "TextDelta",
    "PaneClosed",
    "Progress",
    "Notice",
    "Waiting",
    "RunFinished",
    "Event",
    "EventSink",
    "null_sink",
    "PaneStatus",
]

PaneStatus = Literal["done", "error", "interrupted", "skipped", "cached"]


@dataclass(frozen=True, slots=True)
class RunStarted:
    """Carries the live result object (Transcript, WorkflowRun, Comparison) being filled in,
    so a caller still holds the partial result if the run is interrupted."""

    kind: str  # "discussion" | "workflow" | "compare"
    run: Any
    title: str = ""
    layout: Literal["transcript", "grid"] = "grid"


@dataclass(frozen=True, slots=True)
class PaneOpened:
    pane: str  # unique id within the run
    title: str  # e.g. "🛡️ Noor Okafor — Security Auditor · round 1"
    subtitle: str = ""  # e.g. "kimi:kimi-k2-0905-preview"
    color: str | None = None  # CSS colour of the persona
    group: str = ""  # e.g. "Round 2" / step id; renderers may group panes by it


@dataclass(frozen=True, slots=True)
class TextDelta:
    pane: str
    text: str = ""
    reasoning: str = ""


@dataclass(frozen=True, slots=True)
class PaneClosed:
    pane: str
    status: PaneStatus = "done"
    summary: str = ""  # e.g. "TTFT 0.31 s · 2.4 s · 412 tok · 171 tok/s"
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int
    label: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    text: str
    level: Literal["info", "warning", "error"] = "info"
    #: Session-wide news (e.g. "No Kimi key found"): magics show it once per session, and it is
    #: never stored in a run's record.
    once: bool = False


@dataclass(frozen=True, slots=True)
class Waiting:
    """A pane's request is queued by the shared rate-limit scheduler (not sent yet). An empty `text`
    says the wait is over (the request was sent); so does the pane's next TextDelta or PaneClosed.
    `seconds`: the expected wait, None when it lasts until a running request of the same key ends."""

    pane: str
    text: str  # e.g. "waiting for the rate limit: 3 requests/min (announced by the server) (~18 s)"
    seconds: float | None = None


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The static rendering of the final result, for saved notebooks (GitHub/nbviewer)."""

    markdown: str
    status: str = "done"


Event = Union[RunStarted, PaneOpened, TextDelta, PaneClosed, Progress, Notice, Waiting, RunFinished]
EventSink = Callable[[Event], None]


def null_sink(event: Event) -> None:
    """A sink that ignores everything (the default for the plain Python API)."""
