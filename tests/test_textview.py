"""The terminal view (IPython in a terminal): live status for parallel panes, reasoning, one error each."""

from __future__ import annotations

import io

from llm_magics.comparison.api import compare
from llm_magics.discussion.api import discuss
from llm_magics.magics.textview import TextView


def test_parallel_compare_shows_live_status_reasoning_table_and_each_error_once() -> None:
    out = io.StringIO()
    view = TextView(out, tty=True)
    comp = compare("Explain CRDTs in one sentence.", ["offline:kimi-k2-thinking", "offline", "offline:kimi-k3"], on_event=view)
    view.close()
    text = out.getvalue()
    # While the answers stream: one status line, rewritten in place, naming every open pane.
    assert "\r\x1b[K\x1b[2m⏳ offline:kimi-k2-thinking: " in text
    # Each pane printed whole once it closed; the thinking model's reasoning before its answer.
    thinking = comp["offline:kimi-k2-thinking"]
    assert thinking.reasoning and text.count(thinking.reasoning.strip()) == 1
    assert text.index("[reasoning]") < text.index(thinking.text.strip()[:40])
    assert text.count(comp["offline"].text.strip()) == 1
    # The failure: its error once (under its pane), the table pointing at it, one summary line.
    assert text.count("The offline provider has no model 'kimi-k3'.") == 1
    assert "output tok" in text and "reasoning tok" in text  # the metrics table at the end
    assert text.count("✗ 1 of 3 targets failed.") == 1
    assert "Total · 3 calls (1 failed) · prompt" in text


def test_not_a_terminal_no_status_line_and_no_colour() -> None:
    out = io.StringIO()
    view = TextView(out, tty=False)
    discuss("Cache it?", "Noor, Sasha", mode="parallel", on_event=view)
    text = out.getvalue()
    assert "\r" not in text and "\x1b[" not in text
    assert text.count("── 🛡️ Noor Okafor") == 1 and "Total · 2 calls · prompt" in text


def test_sequential_streams_reasoning_dimmed_then_the_answer() -> None:
    out = io.StringIO()
    view = TextView(out, tty=True)
    tr = discuss("Cache it?", "Noor", model="kimi-k2-thinking", provider="offline", on_event=view)
    text = out.getvalue()
    turn = tr.messages[0]
    assert turn.reasoning and "\x1b[2m[reasoning] \x1b[0m" in text
    assert text.index("[reasoning]") < text.index(turn.text[:30])
