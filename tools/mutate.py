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

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: pytest's own dependency
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mutants import Mutant, excluded, mutants_for  # noqa: E402 - a sibling script, not a package

__all__ = ["Mutant", "mutants_for", "main"]

ROOT = Path(__file__).resolve().parent.parent
TRACE_PLUGIN = Path(__file__).resolve().parent / "mutate_trace.py"


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
            reason = excluded(m, excludes)
            if reason:
                m.status, m.reason = "excluded", reason
        planned.append((mod, muts))
    if wanted_lines is None:
        for ex in excludes:
            if any(ex["path"] == mod["path"] for mod, _ in planned) and not any(
                    excluded(m, [ex]) for _, ms in planned for m in ms):
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
        shutil.copy(TRACE_PLUGIN, tmp / "_mutate_trace.py")
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
