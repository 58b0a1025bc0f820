"""`%%eval` / `%eval --resume` in the in-process IPython shell (terminal view), offline provider."""

from __future__ import annotations

import _thread
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from llm_magics.evaluation import EvalResult
from llm_magics.events import Event, Progress  # noqa: F401
from llm_magics.history import export_run, history_runs
from llm_magics.magics import eval as eval_magic

T2 = "offline:kimi-k2.6 offline:kimi-k2-turbo-preview"
TEMPLATE = "{{ question }}\nReply with the number only."


def test_help_documents_every_flag(ip: Any) -> None:
    doc = ip.find_cell_magic("eval").__doc__
    for flag in ("--data", "--scorer", "--expected", "--repeat", "--limit", "--sample", "--seed", "--judge",
                 "--workflow", "--step", "--out", "--estimate", "--resume", "--concurrency", "--max-tokens"):
        assert flag in doc, flag
    assert ip.find_line_magic("eval") is not None  # %eval --resume RUN_ID


def test_cell_runs_and_stores_the_result(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell_magic("eval", f"{T2} --data arithmetic --scorer number --limit 12 --repeat 2 --out res", TEMPLATE)
    res = ip.user_ns["res"]
    assert isinstance(res, EvalResult) and res.status == "done" and len(res.calls) == 2 * 12 * 2
    out = capsys.readouterr().out
    assert "offline:kimi-k2.6" in out and "pass@2" in out and "score (95% CI)" in out
    table = history_runs(5, kind="eval")
    assert [r.id for r in table] == [res.id]


def test_data_and_scorer_from_the_namespace(ip: Any) -> None:
    ip.user_ns["rows"] = [{"q": "What is 17 × 23?", "a": 391}, {"q": "What is 45 squared?", "a": 2025}]
    ip.user_ns["has_digits"] = lambda output, row: any(ch.isdigit() for ch in output)
    ip.run_cell_magic("eval", "offline:kimi-k2.6 --data rows --scorer has_digits --out r2", "{{ q }}")
    res = ip.user_ns["r2"]
    assert res.scorer == "<lambda>" and res.summary[0]["scored"] == 2


@pytest.mark.parametrize(
    ("line", "cell", "message"),
    [
        (f"{T2} --data arithmetic --scorer number", "{{ qestion }}", "no column 'qestion'"),
        (f"{T2} --data arithmetic --scorer numbr", TEMPLATE, "Unknown scorer 'numbr'"),
        (f"{T2} --data arithmetic --scorer judge", TEMPLATE, "needs a judge model: --judge TARGET"),
        ("offline:kimi-k9 --data arithmetic --scorer number", TEMPLATE, "Unknown model 'kimi-k9'"),
        (f"{T2} --data arithmetc", TEMPLATE, "Did you mean 'arithmetic'?"),
        (f"{T2}", TEMPLATE, "needs --data"),
        ("--data arithmetic", TEMPLATE, "needs at least one TARGET"),
        (f"{T2} --data arithmetic", "", "cell body is empty"),  # IPython's own message
    ],
)
def test_bad_input_is_one_usage_error(ip: Any, line: str, cell: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as e:
        ip.run_cell_magic("eval", line, cell)
    assert "Traceback" not in str(e.value)


def test_estimate_sends_nothing(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell_magic("eval", f"{T2} --data arithmetic --scorer number --repeat 3 --estimate --out est", TEMPLATE)
    est = ip.user_ns["est"]
    assert est.calls == 2 * 45 * 3
    assert history_runs(5, kind="eval") == []  # nothing ran


def test_interrupt_keeps_the_partial_then_resume_finishes_it(ip: Any, monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    monkeypatch.setenv("LLM_MAGICS_OFFLINE_DELAY", "0.01")

    class Interrupting(eval_magic.EvalTextView):
        def __call__(self, event: Event) -> None:
            super().__call__(event)
            if isinstance(event, Progress) and event.done == 6:
                _thread.interrupt_main()

    monkeypatch.setattr(eval_magic, "_make_view", lambda: Interrupting())
    with pytest.raises(KeyboardInterrupt):
        ip.run_cell_magic("eval", "offline:kimi-k2.6 --data arithmetic --scorer number --concurrency 1 --out part", TEMPLATE)
    part = ip.user_ns["part"]
    assert part.status == "interrupted" and 6 <= len(part.calls) < 45
    monkeypatch.setattr(eval_magic, "_make_view", lambda: eval_magic.EvalTextView())
    monkeypatch.setenv("LLM_MAGICS_OFFLINE_DELAY", "0")
    ip.run_line_magic("eval", f"--resume {part.id} --out done")
    done = ip.user_ns["done"]
    assert done.id == part.id and done.status == "done" and len(done.calls) == 45
    for key, call in part.calls.items():
        assert done.calls[key].at == call.at  # kept, not sent again
    # Stored evals export to CSV (one row per call), JSON and Markdown.
    csv_path = export_run(done.id, "csv", tmp_path / "e.csv")
    import csv

    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert len(rows) == 45 and rows[0]["target"] == "offline:kimi-k2.6" and rows[0]["status"] == "scored"
    assert rows[0]["output"].startswith("[offline demo")
    json_text = export_run(done.id, "json", tmp_path / "e.json").read_text()
    assert '"calls"' in json_text and json_text.count('"target": "offline:kimi-k2.6"') >= 45
    assert "score (95% CI)" in export_run(done.id, "md", tmp_path / "e.md").read_text()


def test_no_key_notice_is_info_once_per_session_and_not_stored(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Like the other magics: "No Kimi key found" is session news, shown once, never in a result."""
    line = "kimi-k2.6 --data arithmetic --scorer number --limit 3 --out res"  # a bare model ID: the default provider
    ip.run_cell_magic("eval", line, TEMPLATE)
    first = capsys.readouterr().out
    assert first.count("No Kimi key found") == 1 and "[info] No Kimi key found" in first
    assert "[warning] No Kimi key" not in first
    ip.run_cell_magic("eval", line, TEMPLATE)
    second = capsys.readouterr().out
    assert "No Kimi key" not in second and "score (95% CI)" in second  # the second run, without the notice
    res = ip.user_ns["res"]
    assert res.targets == ["offline:kimi-k2.6"] and res.status == "done"
    import json

    from llm_magics.history.store import default_history

    record = default_history().get(res.id)
    assert "No Kimi key" not in res.to_markdown() and "No Kimi key" not in res.to_json()
    assert "No Kimi key" not in json.dumps(record.data) and "No Kimi key" not in record.load().to_markdown()
