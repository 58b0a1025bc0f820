"""The live eval view: at most 4 table renders in any second (fake clock), a final render, the
progress line's rate and ETA, and the static twins (Markdown; PNG when matplotlib is there)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from llm_magics import evaluate
from llm_magics.evaluation.render import progress_text
from llm_magics.events import Notice, Progress, RunFinished, RunStarted


class FakeTime:
    """A clock plus a scheduler whose callbacks run when the clock passes their due time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.due: list[tuple[float, Callable[[], None]]] = []

    def clock(self) -> float:
        return self.now

    def schedule(self, delay: float, cb: Callable[[], None]) -> None:
        self.due.append((self.now + delay, cb))

    def advance(self, dt: float) -> None:
        self.now += dt
        ready = [d for d in self.due if d[0] <= self.now]
        self.due = [d for d in self.due if d[0] > self.now]
        for _, cb in sorted(ready, key=lambda d: d[0]):
            cb()


def test_progress_text() -> None:
    assert progress_text(0, 1800, 0, 0.0) == "0/1,800"
    assert progress_text(120, 1800, 120, 60.0) == "120/1,800 · 120 calls/min · ETA 14 min"
    assert progress_text(1800, 1800, 1800, 90.0) == "1,800/1,800 · 1,200 calls/min"


def test_table_refreshes_at_most_four_times_a_second_and_ends_final() -> None:
    pytest.importorskip("ipywidgets")
    from llm_magics.ui.eval_view import EvalView

    res = evaluate("arithmetic", "{{ question }}", ["offline:kimi-k2.6", "offline:kimi-k2-turbo-preview"],
                   scorer="number", limit=20, history=False)
    t = FakeTime()
    view = EvalView(clock=t.clock, schedule=t.schedule, display=None)
    render_times: list[float] = []
    original = view._render

    def counting() -> None:
        render_times.append(t.now)
        original()

    view.throttle._render = counting
    view(RunStarted(kind="eval", run=res, title=res.title))
    view(Notice("a warning", "warning"))
    for done in range(0, 41):  # 41 progress events over 2 seconds
        view(Progress(done, 40, ""))
        t.advance(0.05)
    t.advance(1.0)
    for start in [x / 10 for x in range(0, 30)]:
        assert sum(1 for r in render_times if start <= r < start + 1.0) <= 4
    assert view.label.value.startswith("40/40 · ") and view.bar.value == 40
    assert "offline:kimi-k2.6" in view.table.value and "%" in view.table.value
    view(RunFinished(markdown=res.to_markdown(), status="done"))
    assert view.final_markdown and "score (95% CI)" in view.final_markdown
    assert "Paired:" in view.table.value  # the final table carries the paired comparison
    assert "a warning" in view.notices.children[0].value


def test_png_chart_when_matplotlib_is_installed() -> None:
    pytest.importorskip("matplotlib")
    from llm_magics.evaluation.render import png

    res = evaluate("arithmetic", "{{ question }}", ["offline:kimi-k2.6", "offline:kimi-k2-turbo-preview"],
                   scorer="number", limit=10, history=False)
    data = png(res)
    assert data is not None and data[:8] == b"\x89PNG\r\n\x1a\n"
    fig: Any = res.plot()
    assert fig.axes[0].get_ylabel() == "score (%)"
