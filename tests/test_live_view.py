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


def test_a_thinking_pane_counts_reasoning_tokens_and_seconds_and_opens_to_watch() -> None:
    ft = FakeTime()
    view, _ = make_view(ft)
    view(RunStarted("compare", run=None, layout="grid"))
    view(PaneOpened("p", "kimi-k2-thinking"))
    for _ in range(30):  # 30 reasoning chunks, one every 0.1 s: from t=0.1 to t=3.0
        ft.advance(0.1)
        view(TextDelta("p", reasoning="step "))
    pane = view.panes["p"]
    pane.tick()  # the view's once-a-second clock (at t=3.0)
    assert pane.reasoning_box.layout.display is None and pane.reasoning_box.selected_index is None
    assert pane.reasoning_box.titles == ("Reasoning · thinking… ≈30 tok · 2.9 s",)
    assert "thinking… ≈30 reasoning tok · 3.0 s (open Reasoning to watch)" in pane.footer_w.value
    pane.reasoning_box.selected_index = 0  # the user opens it: the text is there, and keeps coming
    ft.advance(0.1)
    view(TextDelta("p", reasoning="last "))
    ft.advance(0.1)  # the throttle's deferred render
    assert pane.reasoning_w.value.count("step ") == 30 and "last" in pane.reasoning_w.value
    view(TextDelta("p", text="The answer."))  # reasoning ended at t=3.2
    ft.advance(1.0)
    pane.tick()
    assert "streaming… 4.2 s" in pane.footer_w.value
    view(PaneClosed("p", "done", "TTFT 0.10 s · 4.2 s · 40 output tok"))
    assert pane.reasoning_box.titles == ("Reasoning · ≈31 tok · 3.1 s",)
    assert "TTFT 0.10 s · 4.2 s · 40 output tok" in pane.footer_w.value


def test_workflow_step_list_is_live_and_the_finished_view_has_totals() -> None:
    from llm_magics.workflow.api import run_workflow

    ft = FakeTime()
    view, _ = make_view(ft)
    lists: list[str] = []

    def sink(event: Any) -> None:
        view(event)
        if isinstance(event, PaneClosed):
            lists.append(view.summary_w.value)

    run = run_workflow("security-audit", "def login(u, p): ...", provider="offline", on_event=sink)
    view.close("done")
    assert run.status == "done" and len(lists) == 5
    steps = list(run.steps)
    first = lists[0]  # after the first step finished: it is done, the last one still pending
    assert f"<tr data-step='{steps[0]}' class='llm-step-done'>" in first
    assert f"<tr data-step='{steps[-1]}' class='llm-step-pending'>" in first and "⏳ pending" in first
    assert lists[-1].count("✅ done") == 5 and "llm-steps" in view.summary_w._dom_classes
    usage = run.usage
    total = view.totals_w.value
    assert f"5 calls · prompt {usage.prompt_tokens:,} tok · output {usage.completion_tokens:,} tok" in total
    assert view.progress_w.bar_style == "success" and view.status_w.value == ""


def test_argument_errors_draw_no_live_view() -> None:
    import pytest
    from IPython.core.error import UsageError

    from llm_magics.discussion.api import adiscuss
    from llm_magics.magics.live import run_live

    ft = FakeTime()
    view, shown = make_view(ft)
    with pytest.raises(UsageError, match="Did you mean 'Noor Okafor'"):
        run_live(None, lambda sink: adiscuss("Topic", "Nor", on_event=sink), view=view)
    assert shown == [] and not view.shown and view.status_w.value == ""


def test_notices_render_code_spans_and_once_per_session(capsys: Any) -> None:
    from llm_magics.discussion.api import adiscuss
    from llm_magics.magics.live import run_live

    views = []
    for _ in range(2):
        ft = FakeTime()
        view, _ = make_view(ft)
        run_live(None, lambda sink: adiscuss("Cache it?", "Noor", on_event=sink), view=view)
        views.append(view)
    first, second = ([n.value for n in v.notices.children] for v in views)
    assert len(first) == 1 and "<code>%llm keys add kimi</code>" in first[0] and "`" not in first[0]
    assert second == []  # once per session
    tr = views[0].run
    assert tr.provider == "offline" and tr.notices == [] and "No Kimi key" not in tr.to_markdown()
