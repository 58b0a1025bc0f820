"""The mutants of one module: what `tools/mutate.py` changes, one change at a time (see its docstring).

Each mutant is a byte range of the source and its replacement, so the rest of the file (comments,
line numbers) stays as it was; a mutant that does not compile or does not change the AST is dropped.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from typing import Any

__all__ = ["Mutant", "mutants_for", "excluded"]

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


def excluded(m: Mutant, excludes: list[dict[str, Any]]) -> str | None:
    """The reason of the ``[[exclude]]`` entry matching this mutant, if any."""
    for ex in excludes:
        if (ex["path"] == m.path and ex["mutation"] == m.desc and ex["where"].strip() == m.where
                and int(ex.get("nth", 1)) == m.nth and ex.get("func", m.func) == m.func):
            return str(ex["reason"])
    return None
