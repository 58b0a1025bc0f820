"""Ctrl-C in the sync API and in the magics ends the call as interrupted, after keeping the partial.

`_thread.interrupt_main()` is what a kernel interrupt does to the main thread waiting in
`run_sync`. It is fired from the event sink once text has streamed, so no timing is involved.
(`discuss` is covered in test_discussion_interrupt.py; the real-kernel "Run All" test is in
test_kernel_interrupt.py.)
"""

from __future__ import annotations

import _thread
import textwrap
from typing import Any

import pytest

from llm_magics.comparison.api import compare
from llm_magics.events import Event, RunStarted, TextDelta
from llm_magics.history.store import default_history
from llm_magics.providers.offline import OfflineProvider
from llm_magics.workflow.api import run_workflow

SPEC = textwrap.dedent(
    """\
    name: one-step
    steps:
      - id: risks
        persona: Noor Okafor
        prompt: "List the risks of: {{ input }}"
    """
)


class _InterruptAfter:
    """An event sink that presses Ctrl-C once `n` text deltas have arrived."""

    def __init__(self, n: int = 3) -> None:
        self.n = n
        self.deltas = 0
        self.run: Any = None

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunStarted):
            self.run = event.run
        if isinstance(event, TextDelta) and event.text:
            self.deltas += 1
            if self.deltas == self.n:
                _thread.interrupt_main()


def test_run_workflow_raises_keyboard_interrupt_after_saving_the_partial() -> None:
    slow = OfflineProvider(chunk_delay=0.05, default_model="kimi-k2-0905-preview")
    sink = _InterruptAfter()
    with pytest.raises(KeyboardInterrupt):
        run_workflow(SPEC, "Ship on Friday?", provider=slow, on_event=sink)
    run = sink.run
    assert run.status == "interrupted" and run["risks"].status == "interrupted"
    assert run["risks"].output  # the partial text
    rec = default_history().get(run.id)
    assert rec.status == "interrupted"
    assert rec.data["steps"][0]["output"] == run["risks"].output


def test_compare_raises_keyboard_interrupt_after_saving_the_partial() -> None:
    slow = OfflineProvider(chunk_delay=0.05, default_model="kimi-k2-0905-preview")
    sink = _InterruptAfter()
    with pytest.raises(KeyboardInterrupt):
        compare("Ship on Friday?", [slow], on_event=sink)
    comp = sink.run
    assert comp.status == "interrupted"
    text = comp.rows[0].attempts[0].text
    assert text
    rec = default_history().get(comp.id)
    assert rec.status == "interrupted" and rec.data["rows"][0]["attempts"][0]["text"] == text


@pytest.mark.parametrize(
    "line, cell",
    [
        ('discuss --personas "Noor" --provider offline --out t', "Ship on Friday?"),
        ("workflow --provider offline --out t", SPEC + "input: Ship on Friday?\n"),
        ("compare offline:offline-slow --out t", "Ship on Friday?"),
    ],
    ids=["discuss", "workflow", "compare"],
)
def test_magic_keeps_partial_in_out_then_ends_the_cell_interrupted(
    ip: Any, line: str, cell: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from llm_magics.magics import live

    monkeypatch.setenv("LLM_MAGICS_OFFLINE_DELAY", "0.05")
    sink = _InterruptAfter()
    monkeypatch.setattr(live, "make_view", lambda: _TextViewTee(sink))
    ip.user_ns.pop("t", None)
    result = ip.run_cell(f"%%{line}\n{cell}")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)  # the cell failed: Jupyter stops "Run All"
    assert ip.user_ns["t"] is sink.run and sink.run.status == "interrupted"
    assert default_history().get(sink.run.id).status == "interrupted"
    err = capsys.readouterr().err
    assert f"Interrupted: the partial result is kept as run {sink.run.id}" in err and "`t`" in err


class _TextViewTee:
    """The terminal view, plus the interrupting sink."""

    def __init__(self, sink: _InterruptAfter) -> None:
        from llm_magics.magics.live import TextView

        self.view = TextView()
        self.sink = sink

    def __call__(self, event: Event) -> None:
        self.view(event)
        self.sink(event)

    def close(self, status: str = "done") -> None:
        self.view.close(status)
