"""EvalResult exports: JSON round trip, CSV, pandas frames (when pandas is installed), Markdown."""

from __future__ import annotations

import csv
import io
import json

import pytest

from llm_magics import EvalResult, evaluate
from llm_magics.errors import ConfigurationError
from llm_magics.evaluation.result import CALL_COLUMNS

TARGETS = ["offline:kimi-k2.6", "offline:kimi-k2-turbo-preview"]


@pytest.fixture
def res() -> EvalResult:
    return evaluate("arithmetic", "{{ question }}", TARGETS, scorer="number", repeat=2, limit=10, history=False)


def test_json_round_trip_keeps_every_call_and_the_summary(res: EvalResult) -> None:
    data = json.loads(res.to_json())
    assert data["kind"] == "eval" and len(data["calls"]) == 40 and len(data["summary"]) == 2
    back = EvalResult.from_dict(data)
    assert back.summary == res.summary and set(back.calls) == set(res.calls)
    assert back.compare(*TARGETS).sentence() == res.compare(*TARGETS).sentence()


def test_csv_has_one_row_per_call(res: EvalResult) -> None:
    rows = list(csv.DictReader(io.StringIO(res.to_csv())))
    assert len(rows) == 40 and list(rows[0]) == list(CALL_COLUMNS)
    assert {r["status"] for r in rows} == {"scored"} and rows[0]["target"] == TARGETS[0]


def test_compare_names_and_errors(res: EvalResult) -> None:
    assert res.compare("kimi-k2.6", "kimi-k2-turbo-preview").a == TARGETS[0]  # model IDs work too
    with pytest.raises(ConfigurationError, match="No target 'kimi-k2.7'") as e:
        res.compare("kimi-k2.7", TARGETS[0])
    assert e.value.hint and "offline:kimi-k2.6" in e.value.hint
    with pytest.raises(ConfigurationError, match="two different targets"):
        res.compare(TARGETS[0], "kimi-k2.6")


def test_pandas_frames(res: EvalResult) -> None:
    pd = pytest.importorskip("pandas")
    frame = res.to_pandas()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 40 and list(frame.columns) == list(CALL_COLUMNS)
    summary = res.summary_frame()
    assert list(summary.index) == TARGETS and summary.loc[TARGETS[0], "scored"] == 20


def test_pandas_missing_says_what_to_install(res: EvalResult, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConfigurationError, match="needs pandas") as e:
        res.to_pandas()
    assert e.value.hint and "res.summary" in e.value.hint


def test_markdown_table_and_footer(res: EvalResult) -> None:
    md = res.to_markdown()
    head = next(line for line in md.splitlines() if line.startswith("| target"))
    assert head.split(" | ")[4:7] == ["pass@2", "maj@2", "consistency"]
    assert "scorer `number`" in md and "Paired:" in md and "offline demo provider" in md
