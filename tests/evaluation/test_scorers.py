"""Scorers on the forms the issue names (spec examples) and their errors before any request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_magics.errors import ConfigurationError
from llm_magics.evaluation.scorers import (
    cwe_groups,
    extract_choice,
    extract_cwes,
    extract_number,
    get_scorer,
    normalize,
)


def s(spec: str, output: str, expected: object = None, **kw: object) -> float:
    return get_scorer(spec, **kw).score(output, {}, expected).value


def test_exact_trims_casefolds_collapses_and_drops_a_trailing_period() -> None:
    assert normalize("  The  Eiffel\nTower. ") == "the eiffel tower"
    assert s("exact", " paris. ", "Paris") == 1.0
    assert s("exact", "PARIS", "paris.") == 1.0
    assert s("exact", "Paris, France", "Paris") == 0.0
    assert s("exact", "Lyon", ["Paris", "Lyon"]) == 1.0  # a list means any of these


def test_contains() -> None:
    assert s("contains", "I think it is Paris, in France.", "paris") == 1.0
    assert s("contains", "Lyon", "Paris") == 0.0


def test_regex_searches_and_bad_patterns_fail_early() -> None:
    assert s("regex:^\\d+$", "42") == 1.0
    assert s("regex:^\\d+$", "about 42") == 0.0
    assert get_scorer("regex:x").needs_expected is False
    with pytest.raises(ConfigurationError, match="not a valid regular expression"):
        get_scorer("regex:(unclosed")
    with pytest.raises(ConfigurationError, match="needs a pattern"):
        get_scorer("regex:")


@pytest.mark.parametrize(
    ("output", "value"),
    [
        ("42", 42.0),
        ("The total is $1,234.50 today", 1234.5),
        ("-3.5 degrees", -3.5),
        ("1e3", 1000.0),
        ("no digits here", None),
        ("Step 1: 3 + 4 = 7. Step 2: 7 * 6 = 42. Answer: 42", 42.0),  # read at the answer
        ("#### 18", 18.0),
        ("3, 4 and 5", 3.0),
    ],
)
def test_extract_number(output: str, value: float | None) -> None:
    assert extract_number(output) == value


def test_number_scorer_tolerance_and_commas() -> None:
    assert s("number", "It costs $1,000,000.", "1000000") == 1.0
    assert s("number", "0.30000000000000004", 0.3) == 1.0  # relative tolerance 1e-6
    assert s("number", "1000001", 1000000) == 1.0  # |diff| 1 ≤ 1e-6 × 1000001
    assert s("number", "1000002", 1000000) == 0.0
    assert s("number", "nothing", 5) == 0.0
    assert get_scorer("number").check_expected("n/a") is not None
    assert get_scorer("number").check_expected("12") is None


@pytest.mark.parametrize(
    ("output", "letter"),
    [
        ("Answer: C", "C"),
        ("the answer is (b)", "B"),
        ("(C)", "C"),
        ("C.", "C"),
        ("D) because it is cheapest", "D"),
        ("**E**", "E"),
        ("A careful reading shows option (B) is right. Final answer: B", "B"),
        ("Options A and B are wrong; the answer is J", "J"),
        ("I cannot tell", None),
    ],
)
def test_extract_choice(output: str, letter: str | None) -> None:
    assert extract_choice(output) == letter


def test_choice_scorer() -> None:
    assert s("choice", "Answer: C", "C") == 1.0
    assert s("choice", "(c)", "(C)") == 0.0  # lower-case "(c)" alone is not read as an option
    assert s("choice", "C.", "(C)") == 1.0
    assert s("choice", "B", "C") == 0.0
    assert get_scorer("choice").check_expected("K") is not None


def test_json_scorer_parses_and_validates(tmp_path: Path) -> None:
    assert s("json", '{"a": 1}') == 1.0
    assert s("json", '```json\n{"a": 1}\n```') == 1.0
    sc = get_scorer("json")
    r = sc.score("{a: 1}", {}, None)
    assert r.value == 0.0 and r.reason and r.reason.startswith("not valid JSON")
    schema = {"type": "object", "required": ["name", "age"], "properties": {"age": {"type": "integer"}}}
    path = tmp_path / "person.schema.json"
    path.write_text(json.dumps(schema))
    sc = get_scorer(f"json:{path}")
    assert sc.score('{"name": "Ada", "age": 36}', {}, None).value == 1.0
    bad = sc.score('{"name": "Ada", "age": "36"}', {}, None)
    assert bad.value == 0.0 and bad.reason and "age" in bad.reason
    with pytest.raises(ConfigurationError, match="no such JSON Schema file"):
        get_scorer(f"json:{tmp_path / 'missing.json'}")
    path.write_text(json.dumps({"type": 12}))
    with pytest.raises(ConfigurationError, match="JSON Schema .* is invalid"):
        get_scorer(f"json:{path}")


def test_json_schema_without_jsonschema_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from llm_magics.evaluation.scorers import json_scorer

    monkeypatch.setitem(sys.modules, "jsonschema", None)  # import now raises ImportError
    with pytest.raises(ConfigurationError, match="needs the 'jsonschema' package") as e:
        json_scorer({"type": "object"})
    assert e.value.hint and "pip install jsonschema" in e.value.hint
    assert s("json", "[1, 2]") == 1.0  # parsing alone needs nothing


def test_cwe_recall() -> None:
    assert extract_cwes("cwe_79, CWE-89 and CWE 79") == ["CWE-79", "CWE-89"]
    assert extract_cwes(["CWE-22", 78]) == ["CWE-22", "CWE-78"]
    assert s("cwe", "Findings: SQL injection (CWE-89).", ["CWE-89"]) == 1.0
    assert s("cwe", "CWE-89 only", "CWE-89, CWE-79, CWE-352") == pytest.approx(1 / 3)
    r = get_scorer("cwe").score("CWE-79 and CWE-89", {}, ["CWE-89", "CWE-22"])
    assert r.value == 0.5 and r.reason == "missed CWE-22" and r.key == "CWE-79,CWE-89"
    assert get_scorer("cwe").check_expected("none") is not None
    # 'A|B' inside one weakness: either ID counts (parent/child CWE IDs for the same bug)
    sc = get_scorer("cwe")
    assert sc.score("weak hash: CWE-328", {}, ["CWE-916|CWE-328"]).value == 1.0
    r = sc.score("nothing", {}, "CWE-916|CWE-328, CWE-89")
    assert r.value == 0.0 and r.reason == "missed CWE-916 or CWE-328, CWE-89"


def test_shipped_datasets_are_valid_for_their_scorers() -> None:
    from llm_magics.evaluation.data import check_expected_column, load_data, select
    from llm_magics.evaluation.datasets import dataset_path

    sec = load_data(dataset_path("vulnerable-snippets"))
    assert 20 <= len(sec) <= 30 and {"code", "language", "cwe"} <= set(sec.columns)
    check_expected_column(select(sec), "cwe", sec.columns, get_scorer("cwe").check_expected)
    assert all(cwe_groups(it.row["cwe"]) for it in sec.items)
    ar = load_data(dataset_path("arithmetic"))
    assert 30 <= len(ar) <= 50
    check_expected_column(select(ar), "answer", ar.columns, get_scorer("number").check_expected)
    assert len({it.row["id"] for it in ar.items}) == len(ar)


def test_callables_and_their_return_values() -> None:
    def long_enough(output: str, row: dict[str, object]) -> bool:
        return len(output) >= int(row["min"])  # type: ignore[call-overload]

    sc = get_scorer(long_enough)
    assert sc.name == "long_enough"
    assert sc.score("hello", {"min": 3}, None).value == 1.0
    assert sc.score("hi", {"min": 3}, None).value == 0.0
    assert get_scorer(lambda o, r: 0.25).score("x", {}, None).value == 0.25
    with pytest.raises(TypeError, match="must return a bool or a finite number"):
        get_scorer(lambda o, r: "yes").score("x", {}, None)
    with pytest.raises(KeyError):  # a raising scorer raises; the runner records it as a scoring error
        sc.score("x", {}, None)


def test_unknown_scorer_and_judge_without_a_judge() -> None:
    with pytest.raises(ConfigurationError, match="Unknown scorer 'exatc'") as e:
        get_scorer("exatc")
    assert e.value.hint == "Did you mean 'exact'?"
    with pytest.raises(ConfigurationError, match="needs a judge model: --judge TARGET"):
        get_scorer("judge")
    with pytest.raises(ConfigurationError, match="takes no argument"):
        get_scorer("exact:foo")
