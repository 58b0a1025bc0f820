"""The shape stays: packages point down only, no import cycles, ipywidgets only in ui/.

Imports are read from the source (every `import` statement, including the lazy ones inside
functions, which is where cycles used to hide); only `if TYPE_CHECKING:` blocks are skipped,
because they never run.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "llm_magics"

#: Lower number = lower layer. A unit may import its own layer or below (never a cycle), never above.
LAYERS: dict[str, int] = {
    "errors": 0, "events": 0, "sync": 0, "fmt": 0,
    "providers": 1,
    "config": 2,
    "keys": 3, "personas": 3, "history": 3, "pricing": 3,
    "discussion": 4, "workflow": 4, "comparison": 4, "evaluation": 4,
    "ui": 5,
    "magics": 6,
}
CORE_MAY_IMPORT = {"providers", "errors", "events", "sync", "fmt"}
MAX_LINES = 650  # "no module over ~600 lines"


def _unit(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "llm_magics" or len(parts) < 2:
        return None
    return parts[1]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _modules() -> dict[Path, str]:
    out = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        out[path] = ".".join(rel.parts)
    return out


def _unit_of_file(module: str) -> str | None:
    if module == "llm_magics.__init__":
        return None  # the lazy public facade re-exports from everywhere by design
    return _unit(module)


def _graph() -> dict[str, dict[str, list[str]]]:
    """unit → imported unit → the modules whose imports make that edge."""
    graph: dict[str, dict[str, list[str]]] = {}
    for path, module in _modules().items():
        src = _unit_of_file(module)
        if src is None:
            continue
        graph.setdefault(src, {})
        for imported in _imports(path):
            dst = _unit(imported)
            if dst and dst != src and dst in LAYERS:
                graph[src].setdefault(dst, []).append(module)
    return graph


def test_every_unit_has_a_layer() -> None:
    units = {_unit_of_file(m) for m in _modules().values()} - {None}
    assert units <= set(LAYERS), f"new top-level unit(s) {units - set(LAYERS)}: give them a layer in LAYERS"


def test_imports_only_point_down() -> None:
    upward = [
        f"{src} → {dst} (in {', '.join(sorted(set(where)))})"
        for src, edges in _graph().items()
        for dst, where in edges.items()
        if LAYERS[dst] > LAYERS[src]
    ]
    assert upward == []


def test_no_import_cycle_between_packages() -> None:
    graph = {src: set(edges) for src, edges in _graph().items()}
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif len(path) < len(graph):
                walk(nxt, path + [nxt])

    for start in sorted(graph):
        walk(start, [start])
    assert cycles == []


def test_provider_core_imports_nothing_above_it() -> None:
    above = {dst: where for dst, where in _graph().get("providers", {}).items() if dst not in CORE_MAY_IMPORT}
    assert above == {}


def test_only_ui_imports_ipywidgets() -> None:
    offenders = sorted(
        module
        for path, module in _modules().items()
        if _unit_of_file(module) != "ui" and any(i.split(".")[0] == "ipywidgets" for i in _imports(path))
    )
    assert offenders == []


def test_no_module_is_too_long() -> None:
    long = {str(p.relative_to(PKG)): n for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_checker_sees_a_planted_upward_import(tmp_path: Path) -> None:
    """The checks above are only worth something if they can fail: plant an upward import."""
    planted = tmp_path / "m.py"
    planted.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from llm_magics.ui import live\n"
        "def f():\n    from llm_magics.keys import store\n"
    )
    ours = [i for i in _imports(planted) if i.startswith("llm_magics")]
    assert ours == ["llm_magics.keys", "llm_magics.keys.store"]  # the lazy one counts, TYPE_CHECKING does not


@pytest.mark.parametrize("entry", ["llm_magics.providers", "llm_magics.providers.kimi", "llm_magics.providers.http"])
def test_importing_the_core_loads_nothing_above_it(entry: str) -> None:
    code = (
        "import json, sys\n"
        f"import {entry}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('llm_magics'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = json.loads(out)
    above = [m for m in loaded if _unit(m) not in CORE_MAY_IMPORT | {None}]
    assert above == [], above
    assert "llm_magics.providers.base" in loaded  # the probe really imported the core


def test_readme_python_api_names_import_from_the_package() -> None:
    import re

    import llm_magics

    readme = (PKG.parent / "README.md").read_text(encoding="utf-8")
    names = {n.strip() for line in re.findall(r"^from llm_magics import (.+)$", readme, re.M) for n in line.split(",")}
    assert {"get_provider", "discuss", "compare", "list_personas"} <= names  # the section is really read
    missing = [n for n in sorted(names) if not hasattr(llm_magics, n)]
    assert missing == []
    assert callable(llm_magics.compare) and callable(llm_magics.list_personas)
