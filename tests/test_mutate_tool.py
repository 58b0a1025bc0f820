"""tools/mutate.py proposes the mutants it documents, and only those (the runs themselves are slow
and live in `bash .ci/mutation.sh`, not in CI)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def mutate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutate_tool", ROOT / "tools" / "mutants.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutate_tool"] = module
    spec.loader.exec_module(module)
    return module


SOURCE = '''"""Module docstring: never mutated."""
from __future__ import annotations

__all__ = ["f"]


def f(x: int, items: list[int], flag: bool = True) -> int | None:
    """Docstring."""
    if x < 3 and flag:
        x += 1
    y = [i for i in items if i != 0]
    total = max(x, len(y)) * 2
    return total if not flag else None


def g(s: str) -> str:
    return "a" + s  # pragma: no mutate
'''


def test_every_documented_operator_once(mutate: ModuleType) -> None:
    got = {(m.line, m.desc, m.mutated_line) for m in mutate.mutants_for(SOURCE.encode(), "m.py")}
    assert got == {
        (9, "statement -> pass", "pass"),
        (9, "condition -> not condition", "if (not (x < 3 and flag)):"),
        (9, "and -> or", "if (x < 3 or flag):"),
        (9, "< -> <=", "if (x <= 3) and flag:"),
        (9, "< -> >", "if (x > 3) and flag:"),
        (9, "3 -> 4", "if x < (4) and flag:"),
        (9, "3 -> 2", "if x < (2) and flag:"),
        (10, "statement -> pass", "pass"),
        (10, "+= -> -=", "x -= 1"),
        (10, "1 -> 2", "x += (2)"),
        (10, "1 -> 0", "x += (0)"),
        (11, "statement -> pass", "pass"),
        (11, "condition -> not condition", "y = [i for i in items if (not (i != 0))]"),
        (11, "!= -> ==", "y = [i for i in items if (i == 0)]"),
        (11, "0 -> 1", "y = [i for i in items if i != (1)]"),
        (11, "0 -> -1", "y = [i for i in items if i != (-1)]"),
        (12, "statement -> pass", "pass"),
        (12, "* -> /", "total = (max(x, len(y)) / 2)"),
        (12, "max() -> min()", "total = min(x, len(y)) * 2"),
        (12, "2 -> 3", "total = max(x, len(y)) * (3)"),
        (12, "2 -> 1", "total = max(x, len(y)) * (1)"),
        (13, "return value -> None", "return None"),
        (13, "not x -> x", "return total if (flag) else None"),
        (7, "True -> False", "def f(x: int, items: list[int], flag: bool = False) -> int | None:"),
    }


def test_every_mutant_compiles_and_changes_the_code(mutate: ModuleType) -> None:
    import ast

    src = SOURCE.encode()
    for m in mutate.mutants_for(src, "m.py"):
        assert ast.dump(ast.parse(m.apply(src))) != ast.dump(ast.parse(src))


def test_functions_filter_and_exclusion_key(mutate: ModuleType) -> None:
    only_f = mutate.mutants_for(SOURCE.encode(), "m.py", ["f"])
    assert only_f and all(7 <= m.line <= 13 for m in only_f)
    assert mutate.mutants_for(SOURCE.encode(), "m.py", ["g"]) == []  # g's only line is marked no-mutate
    m = next(m for m in only_f if m.desc == "3 -> 4")
    assert (m.where, m.nth, m.func) == ("if x < 3 and flag:", 1, "f")
    entry = {"path": "m.py", "mutation": "3 -> 4", "where": "  if x < 3 and flag:", "reason": "because"}
    assert mutate.excluded(m, [entry]) == "because"
    assert mutate.excluded(m, [{**entry, "nth": 2}]) is None
    assert mutate.excluded(m, [{**entry, "path": "other.py"}]) is None
    assert mutate.excluded(m, [{**entry, "func": "f"}]) == "because"
    assert mutate.excluded(m, [{**entry, "func": "g"}]) is None


def test_the_config_names_existing_modules_and_complete_exclusions(mutate: ModuleType) -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: pytest's own dependency
        import tomli as tomllib  # type: ignore[no-redef]

    cfg = tomllib.loads((ROOT / "tools" / "mutation.toml").read_text())
    for mod in cfg["module"]:
        assert (ROOT / mod["path"]).is_file(), mod["path"]
        assert all((ROOT / t).is_file() for t in mod["tests"]), mod["tests"]
    for ex in cfg.get("exclude", []):
        assert {"path", "mutation", "where", "reason"} <= set(ex) and ex["reason"].strip(), ex
