"""The magics' shell: self-documenting help, UsageError on bad flags, the terminal text view."""

from __future__ import annotations

import io
from typing import Any

import pytest
from IPython.core.error import UsageError

from llm_magics.magics.live import TextView
from llm_magics.events import PaneClosed, PaneOpened, RunFinished, RunStarted, TextDelta


@pytest.mark.parametrize(
    "magic,flags",
    [
        ("discuss", ["--personas", "--mode", "--rounds", "--aggregator", "--provider", "--model", "--out", "--interpolate"]),
        ("workflow", ["--resume", "--provider", "--model", "--out"]),
        ("compare", ["--repeat", "--temperature", "--out"]),
    ],
)
def test_cell_magics_document_themselves(ip: Any, magic: str, flags: list[str]) -> None:
    doc = ip.find_cell_magic(magic).__doc__
    for flag in flags:
        assert flag in doc, f"%%{magic}? does not mention {flag}"


@pytest.mark.parametrize(
    "magic,line",
    [
        ("discuss", "--mode debate"),
        ("discuss", "--rounds two"),
        ("discuss", "--no-such-flag"),
        ("workflow", "--retry"),
        ("compare", "--repeat many kimi-k2.5"),
        ("compare", ""),
    ],
)
def test_bad_flags_raise_usage_error(ip: Any, magic: str, line: str) -> None:
    with pytest.raises(UsageError):
        ip.run_cell_magic(magic, line, "a topic")


def test_llm_help_and_unknown_subcommand(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_line_magic("llm", "")
    out = capsys.readouterr().out
    for sub in ("keys add", "models", "check", "config", "personas", "history", "record"):
        assert sub in out
    with pytest.raises(UsageError, match="Did you mean 'models'"):
        ip.run_line_magic("llm", "modles")


def test_text_view_streams_transcripts_and_keeps_grids_whole() -> None:
    out = io.StringIO()
    view = TextView(out)
    view(RunStarted("discussion", run=None, layout="transcript"))
    view(PaneOpened("a", "Noor Okafor"))
    view(TextDelta("a", "Hel"))
    assert out.getvalue().endswith("Hel")  # streamed before the pane closed
    view(TextDelta("a", "lo"))
    view(PaneClosed("a", "done", "TTFT 4 ms"))
    assert "Hello" in out.getvalue() and "TTFT 4 ms" in out.getvalue()

    grid = io.StringIO()
    view = TextView(grid)
    view(RunStarted("compare", run=None, layout="grid"))
    view(PaneOpened("x", "model-x"))
    view(PaneOpened("y", "model-y"))
    view(TextDelta("x", "one "))
    view(TextDelta("y", "two "))
    view(TextDelta("x", "three"))
    assert "one" not in grid.getvalue()  # nothing interleaves while both stream
    view(PaneClosed("x", "done"))
    view(PaneClosed("y", "error", error="boom"))
    view(RunFinished("# final"))
    text = grid.getvalue()
    assert "one three" in text and text.index("model-x") < text.index("model-y") and "error: boom" in text
    assert view.final_markdown == "# final"


def test_llm_models_pick_shows_the_model_picker(ip: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import IPython.display

    from llm_magics.ui.pickers import ModelPicker

    shown: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    ip.run_line_magic("llm", "models offline --pick")
    assert len(shown) == 1 and isinstance(shown[0], ModelPicker)
    assert shown[0].provider.value == "offline" and "offline-demo" in shown[0].model.options
