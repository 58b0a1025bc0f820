"""Scorers: turn one model output (and its dataset row) into a score in [0, 1] (or any number).

`get_scorer(spec)` accepts a name (``exact``, ``contains``, ``regex:PATTERN``, ``number``,
``choice``, ``json``, ``json:SCHEMA.json``, ``cwe``, ``judge``), a `Scorer`, or any Python
callable ``(output, row) -> bool | float``. Everything that can be wrong with a scorer or with
the expected values is found here, before any request is sent: an unknown name (with "did you
mean"), a bad regex, an unreadable JSON Schema, ``judge`` without a judge target, an expected
value a scorer cannot use.

Every score carries a `key`, the answer the scorer extracted (the number, the option letter, the
normalised text): majority@k and per-item consistency vote over keys, not over raw text, so
"42" and "The answer is 42." count as the same answer.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llm_magics.errors import ConfigurationError
from llm_magics.providers.base import Cost, Usage

__all__ = [
    "Score",
    "Scorer",
    "SCORERS",
    "get_scorer",
    "normalize",
    "extract_number",
    "extract_choice",
    "extract_cwes",
    "cwe_groups",
    "json_scorer",
]

#: The built-in scorer names (``regex`` and ``json`` also take ``:ARGUMENT``).
SCORERS = ("exact", "contains", "regex", "number", "choice", "json", "cwe", "judge")


@dataclass(frozen=True)
class Score:
    """One graded output: `value` (1.0 pass, 0.0 fail, or a grade), the extracted answer `key`."""

    value: float
    key: str
    reason: str | None = None
    #: When a model graded (the judge): its call's tokens and price, added to the eval's cost.
    usage: Usage | None = None
    cost: Cost | None = None


class Scorer:
    """Base scorer. Subclasses implement `score`; async scorers (the judge) override `ascore`."""

    name: str = "scorer"
    #: Reads the expected column (an eval without `expected` cannot use this scorer).
    needs_expected: bool = True
    #: Calls a model to grade (the runner gives it a provider before the run).
    needs_judge: bool = False

    def check_expected(self, expected: Any) -> str | None:
        """Why `expected` cannot be used by this scorer (None when it can)."""
        if expected is None or (isinstance(expected, str) and not expected.strip()):
            return "is empty"
        return None

    def score(self, output: str, row: Mapping[str, Any], expected: Any) -> Score:
        raise NotImplementedError

    async def ascore(self, output: str, row: Mapping[str, Any], expected: Any, *, prompt: str = "") -> Score:
        """The runner's entry point; `prompt` is the text that was sent (the judge shows it to the grader)."""
        return self.score(output, row, expected)

    def __repr__(self) -> str:
        return f"<scorer {self.name}>"


# --------------------------------------------------------------------------- helpers


_WS = re.compile(r"\s+")


def normalize(text: Any) -> str:
    """Trim, case-fold, collapse whitespace, drop one trailing period: ' Paris. ' → 'paris'."""
    s = _WS.sub(" ", str(text)).strip().casefold()
    if s.endswith(".") and not s.endswith(".."):
        s = s[:-1].rstrip()
    return s


def _alternatives(expected: Any) -> list[str]:
    """An expected value as the list of acceptable answers (a list means 'any of these')."""
    if isinstance(expected, (list, tuple)):
        return [str(e) for e in expected]
    return [str(expected)]


_NUMBER = re.compile(r"[-+−]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+−]?\.\d+(?:[eE][-+]?\d+)?")
_ANSWER_MARK = re.compile(r"(?:final answer|answer)\s*(?:is|:|=)?|####", re.IGNORECASE)


def _to_float(token: str) -> float:
    return float(token.replace(",", "").replace("−", "-"))


def extract_number(text: Any) -> float | None:
    """The first number in `text` ('$1,234.50' → 1234.5), read after the last 'Answer:' / '####' when present.

    Commas between digit groups and `$` are ignored. A model that shows its working and then
    writes "Answer: 42" is read at its answer, not at the first number of its working.
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return float(text)
    s = str(text).replace("$", "")
    marks = list(_ANSWER_MARK.finditer(s))
    if marks:
        m = _NUMBER.search(s, marks[-1].end())
        if m:
            return _to_float(m.group(0))
    m = _NUMBER.search(s)
    return _to_float(m.group(0)) if m else None


_CHOICE_PATTERNS = (
    # "Answer: C", "the answer is (c)", "Final answer: **C**"
    re.compile(r"answer\s*(?:is|:|=)?\s*[:\-]?\s*(?:option\s+)?[(\[*]*\s*([A-Ja-j])\s*[)\]*]*(?![A-Za-z])", re.IGNORECASE),
    # "(C)" anywhere
    re.compile(r"\(([A-J])\)"),
    # "C" / "C." / "C)" / "**C**" at the start of the output or of a line
    re.compile(r"^[ \t]*\**([A-J])\**[ \t]*(?:[.):]|$)", re.MULTILINE),
)


def extract_choice(text: Any) -> str | None:
    """One option letter A–J from forms like 'Answer: C', '(C)', 'C.' ('Answer:' wins, the last one)."""
    s = str(text)
    answer = _CHOICE_PATTERNS[0].findall(s)
    if answer:
        return str(answer[-1]).upper()
    for pattern in _CHOICE_PATTERNS[1:]:
        m = pattern.search(s)
        if m:
            return m.group(1).upper()
    return None


_CWE = re.compile(r"\bCWE[\s_-]?(\d{1,5})\b", re.IGNORECASE)


def extract_cwes(value: Any) -> list[str]:
    """CWE IDs in text or a list, normalised and de-duplicated: 'cwe_79, CWE-89' → ['CWE-79', 'CWE-89']."""
    if isinstance(value, (list, tuple)):
        out: list[str] = []
        for v in value:
            for c in extract_cwes(v if not isinstance(v, int) else f"CWE-{v}"):
                if c not in out:
                    out.append(c)
        return out
    if isinstance(value, int) and not isinstance(value, bool):
        return [f"CWE-{value}"]
    return list(dict.fromkeys(f"CWE-{int(n)}" for n in _CWE.findall(str(value))))


# --------------------------------------------------------------------------- built-ins


class ExactScorer(Scorer):
    name = "exact"

    def score(self, output: str, row: Mapping[str, Any], expected: Any) -> Score:
        got = normalize(output)
        ok = any(got == normalize(e) for e in _alternatives(expected))
        return Score(1.0 if ok else 0.0, got)


class ContainsScorer(Scorer):
    name = "contains"

    def score(self, output: str, row: Mapping[str, Any], expected: Any) -> Score:
        got = normalize(output)
        hits = [e for e in _alternatives(expected) if normalize(e) and normalize(e) in got]
        return Score(1.0 if hits else 0.0, normalize(hits[0]) if hits else got)


class RegexScorer(Scorer):
    """Passes when the pattern matches anywhere in the output (`re.search`); needs no expected column."""

    needs_expected = False

    def __init__(self, pattern: str) -> None:
        if not pattern:
            raise ConfigurationError("The regex scorer needs a pattern: regex:PATTERN (e.g. regex:^\\d+$).")
        try:
            self.pattern = re.compile(pattern, re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            raise ConfigurationError(f"regex:{pattern} is not a valid regular expression: {exc}.") from None
        self.name = f"regex:{pattern}"

    def check_expected(self, expected: Any) -> str | None:
        return None

    def score(self, output: str, row: Mapping[str, Any], expected: Any) -> Score:
        m = self.pattern.search(output)
        return Score(1.0 if m else 0.0, m.group(0) if m else normalize(output))


class NumberScorer(Scorer):
    """First number in the output equals the expected number within relative tolerance 1e-6."""

    name = "number"
    rel_tol = 1e-6

    def check_expected(self, expected: Any) -> str | None:
        if extract_number(expected) is None:
            return f"has no number ({str(expected)[:40]!r})"
        return None

    def score(self, output: str, row: Mapping[str, Any], expected: Any) -> Score:
        want = extract_number(expected)
        got = extract_number(output)
        if got is None or want is None:
            return Score(0.0, normalize(output), "no number in the output")
        ok = math.isclose(got, want, rel_tol=self.rel_tol, abs_tol=0.0)
        return Score(1.0 if ok else 0.0, f"{got:.12g}")


class ChoiceScorer(Scorer):
    """The option letter (A–J) in the output equals the expected letter."""

    name = "choice"

    def check_expected(self, expected: Any) -> str | None:
        if extract_choice(str(expected).strip()) is None:
            return f"is not an option letter A–J ({str(expected)[:40]!r})"
        return None

    def score(self, output: str, row: Mapping[str, Any], expected: Any) -> Score:
        want = extract_choice(str(expected).strip())
        got = extract_choice(output)
        if got is None:
            return Score(0.0, normalize(output)[:80], "no option letter in the output")
        return Score(1.0 if got == want else 0.0, got)


_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n?```\s*$", re.DOTALL | re.IGNORECASE)


class JsonScorer(Scorer):
    """The output parses as JSON (a ```json fence around it is fine); with a schema, it also validates."""

    needs_expected = False

    def __init__(self, schema: Mapping[str, Any] | None = None, *, origin: str = "") -> None:
        self.schema = dict(schema) if schema is not None else None
        self.name = f"json:{origin}" if origin else ("json (schema)" if schema is not None else "json")
        self._validator: Any = None
        if schema is not None:
            try:
                import jsonschema  # type: ignore[import-untyped,unused-ignore]
            except ImportError:
                raise ConfigurationError(
                    "The json scorer with a JSON Schema needs the 'jsonschema' package, which is not installed.",
                    hint="pip install jsonschema  (or use scorer='json' to check only that the output parses)",
                ) from None
            cls = jsonschema.validators.validator_for(self.schema)
            try:
                cls.check_schema(self.schema)
            except jsonschema.SchemaError as exc:
                raise ConfigurationError(f"The JSON Schema{' ' + origin if origin else ''} is invalid: {exc.message}.") from None
            self._validator = cls(self.schema)

    def check_expected(self, expected: Any) -> str | None:
        return None

    def score(self, output: str, row: Mapping[str, Any], expected: Any) -> Score:
        text = output.strip()
        m = _FENCE.match(text)
        if m:
            text = m.group(1)
        try:
            value = json.loads(text)
        except ValueError as exc:
            return Score(0.0, "invalid", f"not valid JSON: {exc}")
        key = json.dumps(value, sort_keys=True)
        if self._validator is not None:
            errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.path))
            if errors:
                where = "/".join(str(p) for p in errors[0].path) or "(root)"
                return Score(0.0, key, f"schema: {where}: {errors[0].message}")
        return Score(1.0, key)


def cwe_groups(expected: Any) -> list[list[str]]:
    """The expected weaknesses, each a group of acceptable IDs.

    A list holds one weakness per element; a string separates weaknesses with ',' or ';'. Inside
    one weakness, 'CWE-916|CWE-328' lists IDs that each count (CWE has parent/child IDs for the
    same bug, and an auditor who names either found it).
    """
    parts = list(expected) if isinstance(expected, (list, tuple)) else re.split(r"[,;\n]", str(expected))
    groups = [extract_cwes(p) for p in parts]
    return [g for g in groups if g]


class CweScorer(Scorer):
    """Recall of the expected weaknesses named in the output: 2 of 3 found → 0.667."""

    name = "cwe"

    def check_expected(self, expected: Any) -> str | None:
        if not cwe_groups(expected):
            return f"names no CWE ID ({str(expected)[:40]!r}; write e.g. 'CWE-89' or a list of them)"
        return None

    def score(self, output: str, row: Mapping[str, Any], expected: Any) -> Score:
        want = cwe_groups(expected)
        found = extract_cwes(output)
        missed = [g for g in want if not any(c in found for c in g)]
        reason = "missed " + ", ".join(" or ".join(g) for g in missed) if missed else None
        key = ",".join(sorted(found, key=lambda c: int(c[4:])))
        return Score((len(want) - len(missed)) / len(want), key, reason)


class CallableScorer(Scorer):
    """Wraps a user function ``(output, row) -> bool | float``."""

    needs_expected = False

    def __init__(self, fn: Callable[[str, Mapping[str, Any]], Any]) -> None:
        self.fn = fn
        self.name = getattr(fn, "__name__", None) or type(fn).__name__

    def check_expected(self, expected: Any) -> str | None:
        return None

    def score(self, output: str, row: Mapping[str, Any], expected: Any) -> Score:
        value = self.fn(output, row)
        if isinstance(value, bool):
            return Score(1.0 if value else 0.0, normalize(output))
        if isinstance(value, (int, float)) and math.isfinite(float(value)):
            return Score(float(value), normalize(output))
        raise TypeError(f"scorer {self.name} returned {value!r}; it must return a bool or a finite number")


def json_scorer(schema: Mapping[str, Any] | str | Path | None = None) -> JsonScorer:
    """A json scorer; `schema` is a JSON Schema dict or the path of a .json file holding one."""
    if schema is None or isinstance(schema, Mapping):
        return JsonScorer(schema)
    path = Path(schema).expanduser()
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"json:{schema}: no such JSON Schema file.") from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"json:{schema}: cannot read the JSON Schema ({exc}).") from None
    if not isinstance(loaded, dict):
        raise ConfigurationError(f"json:{schema}: a JSON Schema must be an object, got {type(loaded).__name__}.")
    return JsonScorer(loaded, origin=str(schema))


_SIMPLE: dict[str, Callable[[], Scorer]] = {
    "exact": ExactScorer,
    "contains": ContainsScorer,
    "number": NumberScorer,
    "choice": ChoiceScorer,
    "cwe": CweScorer,
}


def get_scorer(spec: str | Scorer | Callable[[str, Mapping[str, Any]], Any], *, judge: Any = None) -> Scorer:
    """A `Scorer` from a name, a `Scorer` or a callable; every problem raises ConfigurationError now.

    `judge` is the judge target (e.g. "kimi:kimi-k2.6") and is required by ``judge``; the runner
    binds the judge's provider before the first request.
    """
    if isinstance(spec, Scorer):
        return spec
    if callable(spec) and not isinstance(spec, str):
        return CallableScorer(spec)
    if not isinstance(spec, str):
        raise ConfigurationError(f"scorer must be a name, a Scorer or a function (output, row) -> bool | float; got {type(spec).__name__}.")
    name, sep, arg = spec.strip().partition(":")
    name = name.strip().lower()
    if name == "regex":
        return RegexScorer(arg)
    if name == "json":
        return json_scorer(arg.strip() or None) if sep else JsonScorer()
    if name in _SIMPLE:
        if sep:
            raise ConfigurationError(f"The {name} scorer takes no argument (got '{spec}').", hint=f"Use scorer='{name}'.")
        return _SIMPLE[name]()
    if name == "judge":
        if judge is None:
            raise ConfigurationError(
                "The judge scorer needs a judge model: --judge TARGET (API: judge='kimi:kimi-k2.6').",
                hint="The judge grades each answer against the expected column; pick a strong model you are not evaluating.",
            )
        from llm_magics.evaluation.judge import JudgeScorer

        return JudgeScorer(judge)
    from llm_magics.providers.suggest import did_you_mean

    hint = did_you_mean(name, SCORERS) or ""
    raise ConfigurationError(
        f"Unknown scorer '{spec}'. Scorers: exact, contains, regex:PATTERN, number, choice, json[:SCHEMA.json], cwe, judge, or a function (output, row) -> bool | float.",
        hint=hint or None,
    )
