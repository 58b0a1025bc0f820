"""Loading eval data from every accepted shape, and the checks that run before any request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_magics.errors import ConfigurationError
from llm_magics.evaluation.data import (
    check_expected_column,
    check_template,
    load_data,
    render,
    select,
)
from llm_magics.evaluation.scorers import get_scorer

ROWS = [{"question": "2+2?", "answer": 4}, {"question": "3*3?", "answer": 9}, {"question": "10-7?", "answer": 3}]


def test_list_of_dicts_and_strings() -> None:
    ds = load_data(ROWS)
    assert ds.columns == ("question", "answer") and len(ds) == 3
    assert [it.index for it in ds.items] == [0, 1, 2]
    ds = load_data(["a", "b"])
    assert ds.columns == ("input",) and ds.items[1].row == {"input": "b"}


def test_files(tmp_path: Path) -> None:
    jl = tmp_path / "d.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n\n")
    assert load_data(jl).items[2].row == {"question": "10-7?", "answer": 3}
    cs = tmp_path / "d.csv"
    cs.write_text("question,answer\n2+2?,4\n\"a, b\",x\n")
    ds = load_data(str(cs))
    assert ds.items[1].row == {"question": "a, b", "answer": "x"}
    js = tmp_path / "d.json"
    js.write_text(json.dumps({"rows": ROWS}))
    assert len(load_data(js)) == 3
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{oops\n')
    with pytest.raises(ConfigurationError, match="line 2: not valid JSON"):
        load_data(bad)
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(ConfigurationError, match="unknown file type '.txt'"):
        load_data(tmp_path / "d.txt")
    with pytest.raises(ConfigurationError, match="No dataset file") as e:
        load_data(tmp_path / "d.jsnl")
    assert e.value.hint and e.value.hint.startswith("Did you mean 'd.jsonl'")


def test_parquet_without_pyarrow_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    p = tmp_path / "d.parquet"
    p.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ConfigurationError, match="needs pyarrow"):
        load_data(p)


def test_parquet_and_dataframe_when_installed(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"question": ["a", "b"], "answer": [1.5, float("nan")]})
    ds = load_data(df)
    assert ds.columns == ("question", "answer")
    assert ds.items[0].row == {"question": "a", "answer": 1.5} and ds.items[1].row["answer"] is None
    assert type(ds.items[0].row["answer"]) is float  # numpy scalars become Python numbers
    pytest.importorskip("pyarrow")
    p = tmp_path / "d.parquet"
    df.to_parquet(p)
    assert load_data(p).items[0].row["question"] == "a"


def test_empty_and_wrong_shapes() -> None:
    with pytest.raises(ConfigurationError, match="The dataset is empty"):
        load_data([])
    with pytest.raises(ConfigurationError, match="row 2 .* not an object"):
        load_data([{"a": 1}, 5])
    with pytest.raises(ConfigurationError, match="single dict"):
        load_data({"a": 1})


def test_template_check_names_missing_column_existing_ones_and_closest() -> None:
    cols = ("question", "answer")
    assert check_template("Q: {{ question }}", cols) == ["question"]
    with pytest.raises(ConfigurationError) as e:
        check_template("Q: {{ qustion }}", cols)
    assert "no column 'qustion'" in e.value.message and "Columns: question, answer" in e.value.message
    assert e.value.hint == "Did you mean 'question'?"
    with pytest.raises(ConfigurationError, match="uses no column"):
        check_template("What is 2+2?", cols)
    with pytest.raises(ConfigurationError, match="reads a workflow step"):
        check_template("{{ steps.a.output }}", cols)
    with pytest.raises(ConfigurationError, match="empty"):
        check_template("  ", cols)


def test_render_is_one_pass_and_leaves_other_braces() -> None:
    row = {"question": "{{ answer }} {x}", "answer": 4, "none": None}
    assert render("Q: {{ question }} [{{none}}] {json: 1}", row) == "Q: {{ answer }} {x} [] {json: 1}"
    assert render("{{ inputs.answer }}", row) == "4"


def test_select_limit_and_seeded_sample() -> None:
    ds = load_data([{"q": str(i)} for i in range(10)])
    assert [it.index for it in select(ds, limit=3)] == [0, 1, 2]
    a = [it.index for it in select(ds, sample=4, seed=7)]
    assert a == [it.index for it in select(ds, sample=4, seed=7)] and a == sorted(a) and len(a) == 4
    assert a != [it.index for it in select(ds, sample=4, seed=8)]
    with pytest.raises(ConfigurationError, match="only 10 items"):
        select(ds, sample=11)


def test_expected_column_checks() -> None:
    ds = load_data(ROWS + [{"question": "?", "answer": "n/a"}, {"question": "?"}])
    num = get_scorer("number")
    with pytest.raises(ConfigurationError, match="'answr' is not in the data") as e:
        check_expected_column(ds.items, "answr", ds.columns, num.check_expected)
    assert e.value.hint == "Did you mean 'answer'?"
    with pytest.raises(ConfigurationError, match=r"row 4 has no number \('n/a'\); row 5 is empty"):
        check_expected_column(ds.items, "answer", ds.columns, num.check_expected)
    check_expected_column(ds.items[:3], "answer", ds.columns, num.check_expected)
