"""Every bad input named in issue 14 gets one clear error before any chat request (the server's log
shows none); a scorer that raises marks its item and the run goes on, nothing finished is lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llm_magics import evaluate
from llm_magics.errors import ConfigurationError
from tests.evaluation.conftest import TEMPLATE, Rules, dataset, posts
from tests.fakeserver import FakeLLMServer

T = ["kimi:kimi-k2-0905-preview", "kimi:kimi-k2-turbo-preview"]


def _fails(server: FakeLLMServer, match: str, **kw: Any) -> ConfigurationError:
    args: dict[str, Any] = {"data": dataset(5), "template": TEMPLATE, "targets": T, "scorer": "number"}
    args.update(kw)
    with pytest.raises(ConfigurationError, match=match) as e:
        evaluate(args.pop("data"), args.pop("template"), args.pop("targets"), **args)
    assert posts(server) == []  # nothing was sent
    return e.value


def test_missing_column_names_it_the_columns_and_the_closest(kimi_fake: FakeLLMServer) -> None:
    err = _fails(kimi_fake, "no column 'questoin'", template="Item {{ id }}: {{ questoin }}")
    assert "Columns: id, question, answer" in err.message and err.hint == "Did you mean 'question'?"
    err = _fails(kimi_fake, "expected column 'anser' is not in the data", expected="anser")
    assert err.hint == "Did you mean 'answer'?"


def test_empty_dataset(kimi_fake: FakeLLMServer, tmp_path: Path) -> None:
    _fails(kimi_fake, "The dataset is empty", data=[])
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    _fails(kimi_fake, "The dataset is empty", data=str(empty))


def test_unknown_scorer(kimi_fake: FakeLLMServer) -> None:
    err = _fails(kimi_fake, "Unknown scorer 'numbr'", scorer="numbr")
    assert err.hint == "Did you mean 'number'?"


def test_unknown_target_model_and_provider(kimi_fake: FakeLLMServer) -> None:
    err = _fails(kimi_fake, "Unknown model 'kimi-k2-turbo' for kimi", targets=["kimi:kimi-k2-turbo", T[0]])
    assert err.hint and "kimi-k2-turbo-preview" in err.hint
    assert [r.method for r in kimi_fake.requests] == ["GET"]  # the model list, which is not billed
    err = _fails(kimi_fake, "Unknown provider 'kimmi'", targets=["kimmi:kimi-k2.6"])
    assert err.hint and err.hint.startswith("Did you mean 'kimi:kimi-k2.6'?")
    _fails(kimi_fake, "No targets", targets=[])
    _fails(kimi_fake, "given twice", targets=[T[0], "kimi-k2-0905-preview"])


def test_a_provider_without_a_key(kimi_fake: FakeLLMServer) -> None:
    err = _fails(kimi_fake, "No key for openai", targets=[T[0], "openai:gpt-4o-mini"])
    assert err.hint and "%llm keys add openai" in err.hint


def test_judge_scorer_without_a_judge_and_a_judge_without_the_scorer(kimi_fake: FakeLLMServer) -> None:
    _fails(kimi_fake, "needs a judge model: --judge TARGET", scorer="judge")
    _fails(kimi_fake, "does not use a judge", judge="kimi:kimi-k2.6")


def test_other_bad_numbers_and_flags(kimi_fake: FakeLLMServer) -> None:
    _fails(kimi_fake, "repeat=0 must be at least 1", repeat=0)
    _fails(kimi_fake, "only 5 items", sample=9)
    _fails(kimi_fake, "temperature=3", temperature=3)
    _fails(kimi_fake, "step='x' needs a workflow", step="x")
    _fails(kimi_fake, "has no step 'finding'", workflow="security-audit", step="finding", template="{{ question }}")
    _fails(kimi_fake, "uses no column", template="What is 2 + 2?")
    _fails(kimi_fake, r"row 2 has no number", data=[{"id": 0, "question": "a", "answer": 1}, {"id": 1, "question": "b", "answer": "?"}])


def test_a_raising_scorer_marks_its_items_and_the_run_goes_on(kimi_fake: FakeLLMServer) -> None:
    kimi_fake.responder = Rules({})

    def picky(output: str, row: dict[str, Any]) -> bool:
        if row["id"] % 2:
            raise RuntimeError(f"cannot grade item {row['id']}")
        return str(row["answer"]) in output

    res = evaluate(dataset(6), TEMPLATE, T, scorer=picky)
    assert res.status == "done" and len(posts(kimi_fake)) == 12
    for row in res.summary:
        assert (row["scored"], row["errors"], row["scoring_errors"], row["score"]) == (3, 0, 3, 1.0)
    rec = next(r for r in res.to_records() if r["item"] == 1)
    assert rec["status"] == "scoring_error" and rec["error"] == "RuntimeError: cannot grade item 1" and rec["output"]
    assert "(+3 scoring)" in res.to_markdown()


def test_a_target_whose_key_is_rejected_stops_alone(kimi_fake: FakeLLMServer) -> None:
    """A 401 mid-run is final for that target: one error, its other calls left for resume."""
    kimi_fake.responder = Rules({})
    kimi_fake.fail_next(401, "invalid_authentication_error")
    res = evaluate(dataset(30), TEMPLATE, ["kimi:kimi-k2-0905-preview"], scorer="number", concurrency=1)
    row = res.summary[0]
    assert res.status == "stopped" and row["errors"] == 1 and row["scored"] == 0
    assert len(posts(kimi_fake)) == 1 and res.missing_count() == 29
    assert any("stopped after" in n for n in res.notes)
