"""LiveView driven in-process with events: panes, layout, throttled updates, final text, Markdown."""

from __future__ import annotations

import html
from typing import Any

from IPython.display import Markdown

from llm_magics.events import Notice, PaneClosed, PaneOpened, Progress, RunFinished, RunStarted, TextDelta
from llm_magics.ui.live import LiveView
from tests.test_throttle import FakeTime


def make_view(ft: FakeTime) -> tuple[LiveView, list[Any]]:
    shown: list[Any] = []
    view = LiveView(clock=ft.clock, schedule=ft.schedule, display=shown.append)
    return view, shown


def test_grid_panes_stream_throttled_and_end_with_final_text() -> None:
    ft = FakeTime()
    view, shown = make_view(ft)
    assert shown == [] and not view.shown  # nothing is drawn before the run starts
    view(RunStarted("discussion", run=None, title="t", layout="grid"))
    assert shown == [view.root] and "llm-live" in view.root._dom_classes
    view(Notice("No Kimi key found", "info"))
    for i in range(3):
        view(PaneOpened(f"p{i}", f"Persona {i} · round 1", color="#123456", group="Round 1"))
    chunks = [f"w{i} <b>&" for i in range(2000)]
    for i, c in enumerate(chunks):
        view(TextDelta("p0", c))
        if i % 2 == 0:
            view(TextDelta("p1", c, reasoning="r "))
        ft.advance(0.001)  # 2,000 chunks over 2 s
    view(Progress(2, 3, "working"))
    view(PaneClosed("p0", "done", "TTFT 0.10 s · 2.00 s"))
    view(PaneClosed("p1", "error", error="boom"))
    view(RunFinished("## final", "done"))
    view.close("done")

    assert len(view.panes) == 3
    grids = [b for b in view.body.children if "llm-panes" in b._dom_classes]
    assert len(grids) == 1 and type(grids[0]).__name__ == "GridBox"
    assert len(grids[0].children) == 3
    p0, p1, p2 = (view.panes[f"p{i}"] for i in range(3))
    assert p0.text == "".join(chunks)
    assert html.escape("".join(chunks)) in p0.text_w.value  # final update sent, HTML escaped
    assert "<b>" not in p0.text_w.value
    assert 20 <= p0.updates <= 2 * 20
    assert "llm-pane" in p0.box._dom_classes and "llm-pane-done" in p0.box._dom_classes
    assert "Persona 0 · round 1" in p0.title_w.value and "llm-pane-title" in p0.title_w._dom_classes
    assert "TTFT 0.10 s" in p0.footer_w.value
    assert p1.reasoning_box.layout.display is None and "r r" in p1.reasoning_w.value
    assert p1.reasoning_box.selected_index is None  # collapsed
    assert "boom" in p1.footer_w.value and "llm-pane-error" in p1.box._dom_classes
    assert p2.reasoning_box.layout.display == "none"
    assert "llm-pane-done" in p2.box._dom_classes  # never streamed, closed at the end
    assert view.progress_w.max == 3 and view.progress_w.value == 3  # the run ended: the bar is full …
    assert view.progress_w.bar_style == "danger" and "✗ 1 failed" in view.progress_label.value  # … and red
    assert "No Kimi key" in view.notices.children[0].value
    assert isinstance(shown[-1], Markdown) and shown[-1].data == "## final"
    assert view.final_markdown == "## final"


def test_transcript_layout_is_one_column_and_interrupt_marks_open_panes() -> None:
    ft = FakeTime()
    view, _ = make_view(ft)
    view(RunStarted("discussion", run=None, layout="transcript"))
    view(PaneOpened("a", "A · round 1", group="Round 1"))
    view(TextDelta("a", "hello"))
    view(PaneClosed("a", "done"))
    view(PaneOpened("b", "B · round 1", group="Round 1"))
    view(TextDelta("b", "par"))
    view(TextDelta("b", "tial"))  # deferred by the throttle
    view.close("interrupted")
    cols = [b for b in view.body.children if "llm-panes" in b._dom_classes]
    assert len(cols) == 1 and type(cols[0]).__name__ == "VBox" and len(cols[0].children) == 2
    assert "partial" in view.panes["b"].text_w.value
    assert "llm-pane-interrupted" in view.panes["b"].box._dom_classes
    assert view.status == "interrupted"


def test_live_view_renders_a_real_offline_discussion() -> None:
    from llm_magics.discussion.api import discuss

    ft = FakeTime()
    view, shown = make_view(ft)
    tr = discuss("Should we cache the user table?", "Noor, Sasha", mode="consensus", rounds=2, on_event=view)
    view.close("done")
    assert len(view.panes) == len(tr.messages)
    for turn in tr.messages:
        assert view.panes[turn.pane].text == turn.text
        assert html.escape(turn.text) in view.panes[turn.pane].text_w.value
    groups = [w.value for w in view.body.children if "llm-group-title" in w._dom_classes]
    assert any("Round 2" in g for g in groups) and any("Consensus" in g for g in groups)
    assert isinstance(shown[-1], Markdown) and tr.id in shown[-1].data
