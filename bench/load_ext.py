"""How long does `%load_ext llm_magics` take in a fresh IPython? (target: ≤ 50 ms)

Each run is a fresh subprocess: IPython's shell is built first (not timed), then only the
`%load_ext` line is timed with perf_counter. Prints the median of several runs, and the same for
jupyter-ai-magics (`%load_ext jupyter_ai_magics`) with the ratio when that package is importable.

    /work/venv/bin/python bench/load_ext.py [--runs 7]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys

_CHILD = r"""
import json, sys, time, io, contextlib
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
before = set(sys.modules)
buf = io.StringIO()
with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
    t0 = time.perf_counter()
    ip.run_line_magic("load_ext", sys.argv[1])
    dt = time.perf_counter() - t0
print(json.dumps({"ms": dt * 1000, "printed": buf.getvalue(), "new_modules": len(set(sys.modules) - before)}))
"""


def measure(ext: str, runs: int) -> tuple[float, list[float], str, int]:
    times: list[float] = []
    printed, new_modules = "", 0
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", _CHILD, ext], capture_output=True, text=True, check=True)
        data = json.loads(proc.stdout.strip().splitlines()[-1])
        times.append(data["ms"])
        printed, new_modules = data["printed"], data["new_modules"]
    return statistics.median(times), times, printed, new_modules


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    ours, times, printed, mods = measure("llm_magics", args.runs)
    print(f"%load_ext llm_magics        median {ours:6.1f} ms over {args.runs} fresh processes "
          f"(min {min(times):.1f}, max {max(times):.1f}); {mods} new modules; printed: {printed!r}")
    print(f"  target ≤ 50 ms: {'OK' if ours <= 50 else 'OVER'}")
    if importlib.util.find_spec("jupyter_ai_magics") is None:
        print("jupyter_ai_magics           not installed; no peer figure (pip install jupyter-ai-magics to compare)")
        return
    try:
        peer, ptimes, _, pmods = measure("jupyter_ai_magics", args.runs)
    except subprocess.CalledProcessError as exc:
        print(f"jupyter_ai_magics           failed to load: {exc.stderr.strip().splitlines()[-1:]}")
        return
    print(f"%load_ext jupyter_ai_magics median {peer:6.1f} ms (min {min(ptimes):.1f}, max {max(ptimes):.1f}); {pmods} new modules")
    print(f"  ratio: jupyter_ai_magics / llm_magics = {peer / ours:.1f}x")


if __name__ == "__main__":
    main()
