"""A small mutation tester: change the code one way at a time and check that some test fails.

Why our own (and not mutmut): it needs nothing beyond the standard library and pytest, mutates a
*copy* of the repository (the working tree is never touched, so it can run while others edit it),
and it is fast: each mutant runs only the tests listed for its module, stopping at the first failure,
in a forked child of a process that has already imported pytest and the heavy third-party modules.

Mutations (one per mutant, each a real behaviour change unless listed as equivalent):
comparisons (``<`` → ``<=`` / ``>``, ``==`` ↔ ``!=``, ``in`` ↔ ``not in``, ``is`` ↔ ``is not``),
``and`` ↔ ``or``, ``not x`` → ``x``, negated ``if``/``while``/ternary/comprehension conditions,
±1 on number constants, ``True`` ↔ ``False``, arithmetic (``+`` ↔ ``-``, ``*`` ↔ ``/``, ``//`` → ``/``,
``**`` → ``*``), ``min`` ↔ ``max``, ``break`` ↔ ``continue``, a statement replaced by ``pass``, and
``return x`` → ``return None``. Never mutated: imports, docstrings, annotations, f-strings,
``__all__``/``__slots__``, ``if TYPE_CHECKING`` blocks and lines marked ``# pragma: no mutate``.

Usage (from the repository root; configuration in tools/mutation.toml)::

    python tools/mutate.py                 # every module in the config
    python tools/mutate.py sse retry       # some modules
    python tools/mutate.py sse --lines 60-90 --verbose   # re-check a region while writing tests
    python tools/mutate.py --list sse      # print the mutants without running anything

A mutant is *caught* when the tests fail (or time out); a survivor is printed with its line, the
mutation and the mutated line. Survivors that cannot change behaviour are listed under
``[[exclude]]`` in the config with a one-line reason and left out of the score (matched by path,
mutation, the original line's text, optionally the enclosing function, and ``nth`` when a line has
the same mutation twice).
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["Mutant", "mutants_for", "main"]

ROOT = Path(__file__).resolve().parent.parent
NO_MUTATE = b"pragma: no mutate"

_CMP_SWAPS: dict[type[ast.cmpop], tuple[type[ast.cmpop], ...]] = {
    ast.Lt: (ast.LtE, ast.Gt), ast.LtE: (ast.Lt, ast.GtE), ast.Gt: (ast.GtE, ast.Lt),
    ast.GtE: (ast.Gt, ast.LtE), ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,), ast.In: (ast.NotIn,),
    ast.NotIn: (ast.In,), ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,),
}
_BIN_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div, ast.Pow: ast.Mult,
}
_SYM = {
    ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!=",
    ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not", ast.Add: "+", ast.Sub: "-",
    ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Pow: "**", ast.And: "and", ast.Or: "or",
}
_DROPPABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Raise, ast.Delete, ast.If)


@dataclass
class Mutant:
    """One change to one module: bytes ``start:end`` of the source become ``repl``."""

    path: str
    line: int
    end_line: int
    kind: str
    desc: str
    start: int
    end: int
    repl: str
    where: str = ""  # the original line, stripped: with `desc` (and `nth`) the key of an exclusion
    nth: int = 1  # 2 for the second mutant with the same `desc` on the same line, ...
    func: str = ""  # the enclosing function ("Class.method"), "" at module level
    mutated_line: str = ""
    status: str = ""  # caught | timeout | survived | excluded
    reason: str = ""

    def apply(self, src: bytes) -> bytes:
        return src[: self.start] + self.repl.encode() + src[self.end:]


@dataclass
class _Ctx:
    func: str = ""  # qualified name of the enclosing function ("" at module level)
    in_func: bool = False


class _Collector:
    """Walks one module's AST and proposes mutants (offsets are byte offsets into the source)."""

    def __init__(self, path: str, src: bytes, functions: list[str]) -> None:
        self.path = path
        self.src = src
        self.lines = src.splitlines(keepends=True)
        self.line_starts = [0]
        for ln in self.lines:
            self.line_starts.append(self.line_starts[-1] + len(ln))
        self.functions = functions
        self.out: list[Mutant] = []

    # -- helpers -------------------------------------------------------------------------
    def _span(self, node: ast.AST) -> tuple[int, int]:
        n: Any = node
        return (self.line_starts[n.lineno - 1] + n.col_offset, self.line_starts[n.end_lineno - 1] + n.end_col_offset)

    def _wanted(self, node: ast.AST, ctx: _Ctx) -> bool:
        if self.functions and not any(ctx.func == f or ctx.func.startswith(f + ".") for f in self.functions):
            return False
        n: Any = node
        return not any(NO_MUTATE in self.lines[i - 1] for i in range(n.lineno, n.end_lineno + 1))

    def _add(self, node: ast.AST, ctx: _Ctx, kind: str, desc: str, repl: str, span_node: ast.AST | None = None) -> None:
        if not self._wanted(node, ctx):
            return
        target = span_node or node
        start, end = self._span(target)
        n: Any = node
        self.out.append(Mutant(self.path, n.lineno, n.end_lineno, kind, desc, start, end, repl, func=ctx.func))

    # -- traversal -------------------------------------------------------------------------
    def run(self, tree: ast.Module) -> list[Mutant]:
        self._body(tree.body, _Ctx(), module=True)
        return self.out

    def _body(self, body: list[ast.stmt], ctx: _Ctx, module: bool = False) -> None:
        for i, stmt in enumerate(body):
            if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
                continue  # docstring
            self._stmt(stmt, ctx)

    def _stmt(self, stmt: ast.stmt, ctx: _Ctx) -> None:
        if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass, ast.Global, ast.Nonlocal)):
            return
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id in ("__all__", "__slots__") for t in targets):
                return
        if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test):
            return
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{ctx.func}.{stmt.name}" if ctx.func else stmt.name
            inner = _Ctx(func=name, in_func=ctx.in_func or not isinstance(stmt, ast.ClassDef))
            for dec in stmt.decorator_list:
                _ = dec  # decorators are not mutated
            if not isinstance(stmt, ast.ClassDef):
                for default in [*stmt.args.defaults, *[d for d in stmt.args.kw_defaults if d is not None]]:
                    self._expr(default, inner)
            self._body(stmt.body, inner)
            return
        # statement-level mutants (inside functions only: module-level drops just break the import)
        if ctx.in_func:
            if isinstance(stmt, _DROPPABLE) and not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                if not (isinstance(stmt, ast.AnnAssign) and stmt.value is None):
                    self._add(stmt, ctx, "drop", "statement -> pass", "pass")
            if isinstance(stmt, ast.Return) and stmt.value is not None and not (
                    isinstance(stmt.value, ast.Constant) and stmt.value.value is None):
                self._add(stmt, ctx, "return", "return value -> None", "return None")
            if isinstance(stmt, ast.Break):
                self._add(stmt, ctx, "loop", "break -> continue", "continue")
            if isinstance(stmt, ast.Continue):
                self._add(stmt, ctx, "loop", "continue -> break", "break")
            if isinstance(stmt, ast.AugAssign) and type(stmt.op) in _BIN_SWAPS:
                new = copy.deepcopy(stmt)
                new.op = _BIN_SWAPS[type(stmt.op)]()
                self._add(stmt, ctx, "arith", f"{_SYM[type(stmt.op)]}= -> {_SYM[type(new.op)]}=", ast.unparse(new))
        if isinstance(stmt, (ast.If, ast.While)):
            self._negate(stmt.test, ctx)
        # children
        for fname, value in ast.iter_fields(stmt):
            if fname in ("annotation", "returns", "type_comment", "decorator_list"):
                continue
            for child in value if isinstance(value, list) else [value]:
                if isinstance(child, ast.stmt):
                    continue
                if isinstance(child, ast.expr):
                    self._expr(child, ctx)
                elif isinstance(child, ast.AST):
                    for sub in ast.iter_child_nodes(child):
                        if isinstance(sub, ast.expr):
                            self._expr(sub, ctx)
                        elif isinstance(sub, ast.stmt):
                            pass
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                self._body(value, ctx)
        if isinstance(stmt, ast.Try):
            for handler in stmt.handlers:
                self._body(handler.body, ctx)
        if isinstance(stmt, ast.Match):  # pragma: no cover - not used in this code base
            for case in stmt.cases:
                self._body(case.body, ctx)

    def _negate(self, test: ast.expr, ctx: _Ctx) -> None:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return  # the "not x -> x" mutant is the same change
        self._add(test, ctx, "negate", "condition -> not condition", f"(not ({ast.unparse(test)}))")

    def _expr(self, node: ast.expr, ctx: _Ctx) -> None:
        if isinstance(node, ast.JoinedStr):
            return
        if isinstance(node, ast.Lambda):
            self._expr(node.body, _Ctx(ctx.func, True))
            return
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                for swap in _CMP_SWAPS.get(type(op), ()):
                    new = copy.deepcopy(node)
                    new.ops[i] = swap()
                    self._add(node, ctx, "compare", f"{_SYM[type(op)]} -> {_SYM[swap]}", f"({ast.unparse(new)})")
        elif isinstance(node, ast.BoolOp):
            new_bool = copy.deepcopy(node)
            new_bool.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
            self._add(node, ctx, "boolop", f"{_SYM[type(node.op)]} -> {_SYM[type(new_bool.op)]}", f"({ast.unparse(new_bool)})")
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._add(node, ctx, "negate", "not x -> x", f"({ast.unparse(node.operand)})")
        elif isinstance(node, ast.BinOp) and type(node.op) in _BIN_SWAPS:
            if not (_stringy(node.left) or _stringy(node.right)):  # "a" - "b" only proves the line runs
                new_bin = copy.deepcopy(node)
                new_bin.op = _BIN_SWAPS[type(node.op)]()
                self._add(node, ctx, "arith", f"{_SYM[type(node.op)]} -> {_SYM[type(new_bin.op)]}", f"({ast.unparse(new_bin)})")
        elif isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool):
                self._add(node, ctx, "constant", f"{v} -> {not v}", str(not v))
            elif isinstance(v, (int, float)):
                for delta in (1, -1):
                    nv = v + delta
                    self._add(node, ctx, "number", f"{v!r} -> {nv!r}", f"({nv!r})")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max"):
            other = "max" if node.func.id == "min" else "min"
            self._add(node, ctx, "call", f"{node.func.id}() -> {other}()", other, span_node=node.func)
        elif isinstance(node, ast.IfExp):
            self._negate(node.test, ctx)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            for gen in node.generators:
                for cond in gen.ifs:
                    self._negate(cond, ctx)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self._expr(child, ctx)
            else:  # keyword, comprehension, arguments (a lambda's defaults)
                for sub in ast.iter_child_nodes(child):
                    if isinstance(sub, ast.expr):
                        self._expr(sub, ctx)


def _stringy(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))):
        return True
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and (_stringy(node.left) or _stringy(node.right))


def mutants_for(src: bytes, rel: str, functions: list[str] | None = None) -> list[Mutant]:
    """Every mutant of one module that compiles and differs from the original (deduplicated)."""
    tree = ast.parse(src)
    original = ast.dump(tree)
    seen: set[bytes] = set()
    out: list[Mutant] = []
    nth: dict[tuple[int, str], int] = {}
    src_lines = src.decode("utf-8", "replace").splitlines()
    for m in _Collector(rel, src, functions or []).run(tree):
        mutated = m.apply(src)
        if mutated in seen:
            continue
        try:
            new_tree = ast.parse(mutated)
        except SyntaxError:
            continue
        if ast.dump(new_tree) == original:
            continue
        seen.add(mutated)
        m.where = src_lines[m.line - 1].strip()
        m.nth = nth[(m.line, m.desc)] = nth.get((m.line, m.desc), 0) + 1
        lines = mutated.decode("utf-8", "replace").splitlines()
        m.mutated_line = lines[m.line - 1].strip() if m.line - 1 < len(lines) else ""
        out.append(m)
    return out


# -- running ---------------------------------------------------------------------------------

# A pytest plugin (written into the copy) that records which lines of the target module each test
# executes, so a mutant runs only the tests that reach it. Lines run outside any test (imports,
# collection) are recorded under "" and make a mutant run every listed test.
_TRACE_PLUGIN = r"""
import json, os, sys, threading
import pytest

_TARGET = os.environ["MUTATE_TRACE"]
_lines = {"": set()}
_current = _lines[""]


def _local(frame, event, arg):
    if event == "line":
        _current.add(frame.f_lineno)
    return _local


def _global(frame, event, arg):
    if frame.f_code.co_filename == _TARGET:
        _current.add(frame.f_lineno)
        return _local
    return None


sys.settrace(_global)
threading.settrace(_global)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    global _current
    _current = _lines.setdefault(item.nodeid, set())
    yield
    _current = _lines[""]


def pytest_sessionfinish(session, exitstatus):
    sys.settrace(None)
    with open(os.environ["MUTATE_TRACE_OUT"], "w") as f:
        json.dump({k: sorted(v) for k, v in _lines.items()}, f)
"""


def _preload(modules: list[str]) -> None:
    """Import pytest and heavy third-party modules once; every forked child starts with them."""
    import importlib

    for name in ["pytest", *modules]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional module only costs speed
            pass
    leaked = [m for m in sys.modules if m == "llm_magics" or m.startswith("llm_magics.")]
    if leaked:
        raise SystemExit(f"preloading imported the package under test ({leaked[0]}); remove it from preload")


class Runner:
    """Runs pytest against the copy in `workdir`, in a forked child (or a subprocess)."""

    def __init__(self, workdir: Path, pytest_args: list[str], fork: bool) -> None:
        self.workdir = workdir
        self.pytest_args = pytest_args
        self.fork = fork and hasattr(os, "fork")
        self.env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
                    "PYTHONPATH": os.pathsep.join([str(workdir), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}

    def run(self, tests: list[str], timeout: float, log: Path | None = None,
            extra_args: list[str] | None = None, env: dict[str, str] | None = None) -> str:
        """'pass', 'fail' or 'timeout'."""
        args = [*self.pytest_args, *(extra_args or []), *tests]
        full_env = {**self.env, **(env or {})}
        with open(log or os.devnull, "wb") as out:
            if self.fork:
                return self._run_forked(args, timeout, out.fileno(), full_env)
            return self._run_subprocess(args, timeout, out, full_env)

    def _run_subprocess(self, args: list[str], timeout: float, out: Any, env: dict[str, str]) -> str:
        proc = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=self.workdir, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return "timeout"
        finally:
            if proc.poll() is None:  # timed out, or this run was stopped
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        return "pass" if rc == 0 else "fail"

    def _run_forked(self, args: list[str], timeout: float, out_fd: int, env: dict[str, str]) -> str:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # child: its own process group, so a timeout can stop everything it started
            rc = 3
            try:
                os.setpgid(0, 0)
                os.dup2(out_fd, 1)
                os.dup2(out_fd, 2)
                os.chdir(self.workdir)
                os.environ.clear()
                os.environ.update(env)
                sys.path.insert(0, str(self.workdir))
                sys.dont_write_bytecode = True
                import pytest

                rc = int(pytest.main(args))
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(rc)
        deadline = time.monotonic() + timeout
        finished = False
        try:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    finished = True
                    return "pass" if os.waitstatus_to_exitcode(status) == 0 else "fail"
                if time.monotonic() > deadline:
                    return "timeout"
                time.sleep(0.02)
        finally:
            if not finished:  # timed out, or this run was stopped: stop the child's whole group
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                os.waitpid(pid, 0)


@dataclass
class ModuleResult:
    name: str
    path: str
    mutants: list[Mutant] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, *statuses: str) -> int:
        return sum(1 for m in self.mutants if m.status in statuses)

    @property
    def counted(self) -> int:
        return len(self.mutants) - self.count("excluded")

    @property
    def score(self) -> float:
        caught = self.count("caught", "timeout")
        return 100.0 * caught / self.counted if self.counted else 100.0

    def line(self) -> str:
        return (f"{self.name:<18} {self.path:<38} mutants {self.counted:>4}  caught {self.count('caught', 'timeout'):>4}"
                f"  survived {self.count('survived', 'uncovered'):>3} (uncovered {self.count('uncovered')})"
                f"  excluded {self.count('excluded'):>2}  score {self.score:5.1f}%")


def _parse_lines(spec: str | None) -> set[int] | None:
    if not spec:
        return None
    out: set[int] = set()
    for part in spec.split(","):
        a, _, b = part.partition("-")
        out.update(range(int(a), int(b or a) + 1))
    return out


def _copy_repo(items: list[str], dest: Path, rev: str | None = None) -> None:
    """The files the tests need, from the working tree or (with `rev`) from a git commit."""
    if rev:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, *items], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
        return
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache", "*.egg-info")
    for item in items:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=ignore)
        elif src.exists():
            (dest / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / item)


def _excluded(m: Mutant, excludes: list[dict[str, Any]]) -> str | None:
    for ex in excludes:
        if (ex["path"] == m.path and ex["mutation"] == m.desc and ex["where"].strip() == m.where
                and int(ex.get("nth", 1)) == m.nth and ex.get("func", m.func) == m.func):
            return str(ex["reason"])
    return None


def _iter_modules(cfg: dict[str, Any], names: list[str]) -> Iterator[dict[str, Any]]:
    mods = cfg.get("module", [])
    known = {m["name"] for m in mods}
    for n in names:
        if n not in known:
            raise SystemExit(f"unknown module {n!r}; configured: {', '.join(sorted(known))}")
    for m in mods:
        if not names or m["name"] in names:
            yield m


def _run_module(runner: Runner, tmp: Path, mod: dict[str, Any], muts: list[Mutant], settings: dict[str, Any],
                verbose: bool) -> ModuleResult | None:
    res = ModuleResult(mod["name"], mod["path"], muts)
    target = tmp / mod["path"]
    original = target.read_bytes()
    tests = list(mod["tests"])
    t0 = time.monotonic()
    trace_out = tmp / "trace.json"
    log = tmp / f"baseline-{mod['name']}.log"
    outcome = runner.run(tests, 1200, log, ["-p", "_mutate_trace", "-p", "no:randomly"],
                         {"MUTATE_TRACE": str(target), "MUTATE_TRACE_OUT": str(trace_out)})
    if outcome != "pass":
        print(f"{mod['name']}: the tests do not pass without any mutation ({outcome}); see {log}")
        return None
    baseline = time.monotonic() - t0
    cover: dict[str, list[int]] = json.loads(trace_out.read_text())
    at_import = set(cover.pop("", []))
    # canary: with the module broken the tests must fail, or they are not importing this copy
    target.write_bytes(b"raise RuntimeError('mutation canary')\n" + original)
    canary = runner.run(tests, 1200)
    target.write_bytes(original)
    if canary == "pass":
        print(f"{mod['name']}: the tests pass with {mod['path']} broken: they do not import the copy under {tmp}")
        return None
    timeout = max(float(settings.get("timeout_min", 30)), baseline * float(settings.get("timeout_factor", 3)))
    todo = [m for m in muts if m.status != "excluded"]
    print(f"== {mod['name']}: {len(todo)} mutants ({len(muts) - len(todo)} excluded), {len(cover)} tests, "
          f"traced baseline {baseline:.1f} s, timeout {timeout:.0f} s", flush=True)
    for i, m in enumerate(todo, 1):
        span = set(range(m.line, m.end_line + 1))
        if span & at_import:
            selected = tests
        else:
            selected = [t for t, lines in cover.items() if span & set(lines)]
        if not selected:
            m.status = "uncovered"
        else:
            target.write_bytes(m.apply(original))
            outcome = runner.run(selected, timeout)
            target.write_bytes(original)
            m.status = {"pass": "survived", "fail": "caught", "timeout": "timeout"}[outcome]
        if verbose or m.status in ("survived", "uncovered"):
            print(f"  [{i}/{len(todo)}] {m.status:<9} {m.path}:{m.line}  {m.desc:<24} {m.mutated_line}", flush=True)
    res.seconds = time.monotonic() - t0
    print(res.line(), flush=True)
    return res


def _plan(cfg: dict[str, Any], names: list[str], tmp: Path,
          wanted_lines: set[int] | None) -> list[tuple[dict[str, Any], list[Mutant]]]:
    excludes = cfg.get("exclude", [])
    planned: list[tuple[dict[str, Any], list[Mutant]]] = []
    for mod in _iter_modules(cfg, names):
        path = tmp / mod["path"]
        if not path.exists():
            print(f"{mod['name']}: {mod['path']} does not exist (yet), skipped")
            continue
        muts = mutants_for(path.read_bytes(), mod["path"], mod.get("functions"))
        if wanted_lines is not None:
            muts = [m for m in muts if m.line in wanted_lines]
        for m in muts:
            reason = _excluded(m, excludes)
            if reason:
                m.status, m.reason = "excluded", reason
        planned.append((mod, muts))
    if wanted_lines is None:
        for ex in excludes:
            if any(ex["path"] == mod["path"] for mod, _ in planned) and not any(
                    _excluded(m, [ex]) for _, ms in planned for m in ms):
                print(f"warning: an exclusion matches no mutant (code changed?): {ex['path']} "
                      f"{ex['mutation']!r} {ex['where']!r}")
    return planned


def _stop(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so the running child and the temporary copy are removed too."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("modules", nargs="*", help="module names from the config (default: all)")
    ap.add_argument("--config", default=str(ROOT / "tools" / "mutation.toml"))
    ap.add_argument("--lines", help="only mutants starting on these lines, e.g. 40-60,72")
    ap.add_argument("--list", action="store_true", help="print the mutants, run nothing")
    ap.add_argument("--no-fork", action="store_true", help="a fresh `python -m pytest` per mutant (slower)")
    ap.add_argument("--json", help="write every mutant and its status to this file")
    ap.add_argument("--verbose", "-v", action="store_true", help="print every mutant as it runs")
    ap.add_argument("--keep", action="store_true", help="keep the temporary copy (its path is printed)")
    ap.add_argument("--rev", help="mutate this git commit (e.g. HEAD) instead of the working tree")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)

    cfg = tomllib.loads(Path(args.config).read_text())
    settings = cfg.get("settings", {})
    wanted_lines = _parse_lines(args.lines)

    if not args.no_fork and not args.list:
        _preload(settings.get("preload", []))
    tmp = Path(tempfile.mkdtemp(prefix="llm-magics-mutants-"))
    results: list[ModuleResult] = []
    try:
        # copy first, then read the modules from the copy: others may be editing the working tree
        _copy_repo(settings.get("copy", ["llm_magics", "tests", "pyproject.toml"]), tmp, args.rev)
        planned = _plan(cfg, args.modules, tmp, wanted_lines)
        if args.list:
            for mod, muts in planned:
                print(f"== {mod['name']} ({mod['path']}): {len(muts)} mutants")
                for m in muts:
                    tag = f"  [excluded: {m.reason}]" if m.status == "excluded" else ""
                    print(f"  {m.path}:{m.line}  {m.kind:<8} {m.desc:<24} {m.mutated_line}{tag}")
            return 0
        (tmp / "_mutate_trace.py").write_text(_TRACE_PLUGIN)
        runner = Runner(tmp, settings.get("pytest_args", ["-x", "-q", "-p", "no:cacheprovider"]), fork=not args.no_fork)
        for mod, muts in planned:
            res = _run_module(runner, tmp, mod, muts, settings, args.verbose)
            if res is None:
                args.keep = True
                return 2
            results.append(res)
    finally:
        if args.keep:
            print(f"copy kept at {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print("\nSummary")
    for res in results:
        print("  " + res.line())
    survivors = [m for r in results for m in r.mutants if m.status in ("survived", "uncovered")]
    if survivors:
        print("\nSurvivors (add a test that fails on each, or an [[exclude]] with path, mutation, where, func, nth, reason):")
        for m in survivors:
            nth = f"  nth = {m.nth}" if m.nth > 1 else ""
            print(f"  {m.path}:{m.line}  {m.desc:<24} -> {m.mutated_line}\n"
                  f"      func = {json.dumps(m.func)}  where = {json.dumps(m.where)}{nth}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            [{"module": r.name, "path": r.path, "score": round(r.score, 1), "mutants": [asdict(m) for m in r.mutants]}
             for r in results], indent=1))
    floor = float(settings.get("fail_under", 0))
    return 1 if any(r.score < floor for r in results) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("stopped (the temporary copy is removed)", file=sys.stderr)
        sys.exit(130)
