"""Scorer edges that mutation testing found unpinned: which answer is read, keys, names, flags and
the configuration errors. Expected values are the documented behaviour, written out by hand.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from llm_magics.errors import ConfigurationError
from llm_magics.evaluation.scorers import (
    CweScorer,
    JsonScorer,
    Score,
    Scorer,
    extract_choice,
    extract_cwes,
    extract_number,
    get_scorer,
    json_scorer,
)


def test_base_scorer_flags_and_empty_expected() -> None:
    assert (Scorer.needs_expected, Scorer.needs_judge) == (True, False)
    exact = get_scorer("exact")
    assert exact.check_expected(None) == "is empty"
    assert exact.check_expected("   ") == "is empty"
    assert exact.check_expected("Paris") is None and exact.check_expected(0) is None
    assert repr(exact) == "<scorer exact>"
    with pytest.raises(NotImplementedError):
        Scorer().score("x", {}, "x")
    assert asyncio.run(exact.ascore(" Paris. ", {}, "paris")) == Score(1.0, "paris")  # the runner's entry point


def test_extract_number_reads_the_last_answer_mark() -> None:
    assert extract_number("3 + 4 = 7. Answer: 7") == 7.0
    assert extract_number("Answer: 3? No. Final answer: 5") == 5.0  # the last mark wins
    assert extract_number("42 it is. Answer: unknown") == 42.0  # no number after the mark: the first one
    assert extract_number(True) is None  # a bool is not a number answer
    assert extract_number(12) == 12.0 and extract_number(2.5) == 2.5


def test_extract_choice_reads_the_last_answer() -> None:
    assert extract_choice("Answer: A. Hmm, no: the answer is C") == "C"
    assert extract_choice("I pick (b) or (D)") == "D"  # "(D)": the parenthesised form is upper-case only
    assert extract_choice("B.\nbecause…") == "B"


def test_extract_cwes_ints_lists_and_bools() -> None:
    assert extract_cwes(79) == ["CWE-79"]
    assert extract_cwes(True) == []  # a bool is not an ID
    assert extract_cwes([89, "cwe_79", "CWE-79", "22"]) == ["CWE-89", "CWE-79"]  # a bare "22" string names nothing


def test_contains_key_is_the_first_expected_alternative_found() -> None:
    s = get_scorer("contains").score("Paris, France", {}, ["Paris", "France"])
    assert (s.value, s.key) == (1.0, "paris")


def test_number_scorer_relative_tolerance_only() -> None:
    number = get_scorer("number")
    assert number.score("3", {}, "3.5").value == 0.0  # 0.5 apart: no absolute tolerance
    assert number.score("1000000.5", {}, "1000000").value == 1.0  # 5e-7 relative, within 1e-6
    assert number.score("0.001", {}, "0.002").value == 0.0


def test_choice_without_a_letter_keeps_80_characters_of_the_output() -> None:
    out = "I am not sure " * 10
    s = get_scorer("choice").score(out, {}, "C")
    assert s == Score(0.0, ("i am not sure " * 10).strip()[:80], "no option letter in the output")
    assert len(s.key) == 80


def test_json_scorer_names_flags_keys_and_the_first_schema_error(tmp_path: Path) -> None:
    assert JsonScorer.needs_expected is False and get_scorer("regex:x").needs_expected is False
    assert get_scorer(lambda out, row: True).needs_expected is False
    assert JsonScorer().name == "json"
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}
    assert JsonScorer(schema).name == "json (schema)"
    path = tmp_path / "s.json"
    path.write_text(json.dumps(schema))
    assert json_scorer(path).name == f"json:{path}"
    assert JsonScorer().score('{"b": 1, "a": 2}', {}, None).key == '{"a": 2, "b": 1}'  # keys sorted
    bad = JsonScorer(schema).score('{"a": "x", "b": "y"}', {}, None)
    assert (bad.value, bad.reason) == (0.0, "schema: a: 'x' is not of type 'integer'")


def test_json_schema_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such JSON Schema file"):
        json_scorer(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigurationError, match="cannot read the JSON Schema"):
        json_scorer(broken)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(ConfigurationError, match="a JSON Schema must be an object, got list"):
        json_scorer(listed)


def test_cwe_key_sorted_by_number_and_recall() -> None:
    s = CweScorer().score("CWE-100 and CWE-89", {}, "CWE-89")
    assert (s.value, s.key) == (1.0, "CWE-89,CWE-100")  # 89 before 100: by number, not text
    two_of_three = CweScorer().score("CWE-79 … CWE-22", {}, "CWE-79, CWE-89; CWE-22")
    assert (two_of_three.value, two_of_three.reason) == (pytest.approx(2 / 3), "missed CWE-89")


def test_get_scorer_accepts_and_refuses() -> None:
    exact = get_scorer("exact")
    assert get_scorer(exact) is exact
    assert get_scorer(" Exact ").name == "exact"
    assert get_scorer("regex:^\\d+$").name == "regex:^\\d+$"
    with pytest.raises(ConfigurationError, match="needs a pattern"):
        get_scorer("regex:")
    with pytest.raises(ConfigurationError, match="scorer must be a name"):
        get_scorer(42)  # type: ignore[arg-type]
    judge = get_scorer("judge", judge="offline:echo")
    assert judge.needs_judge is True
