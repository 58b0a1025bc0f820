"""Workflow machinery cost per step: chained offline steps at zero delay, printed, never asserted.

A chain of N steps (each prompt quotes the previous step's output) runs on the offline provider
with no pacing and a real SQLite history, so the wall time is the executor's own overhead:
dependency bookkeeping, prompt rendering, events and history saves. The cost per step must not
grow with N (goal: the per-step overhead at 1,000 steps ≤ 2× the per-step overhead at 25).

Run:  python bench/workflow_scaling.py [--steps 25 200 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("LLM_MAGICS_HOME", tempfile.mkdtemp(prefix="llm-magics-bench-"))
os.environ["LLM_MAGICS_OFFLINE_DELAY"] = "0"

from llm_magics.history.store import History  # noqa: E402
from llm_magics.workflow.api import arun_workflow  # noqa: E402


def chain(n: int) -> str:
    """YAML for s0 → s1 → … → s{n-1}, each step quoting the previous output."""
    lines = ["name: chain", "steps:", "  - id: s0", "    prompt: 'Start with {{ input }}'"]
    for i in range(1, n):
        lines += [f"  - id: s{i}", f"    prompt: 'Continue: {{{{ steps.s{i - 1}.output }}}}'"]
    return "\n".join(lines) + "\n"


def per_step_ms(n: int, folder: str) -> float:
    history = History(Path(folder) / f"chain-{n}.db")
    spec = chain(n)
    t0 = time.perf_counter()
    run = asyncio.run(arun_workflow(spec, "an idea", provider="offline", history=history))
    took = time.perf_counter() - t0
    assert run.status == "done", run.error
    stored = history.get(run.id)
    assert stored.status == "done" and len(stored.data["steps"]) == n
    return took / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, nargs="+", default=[25, 200, 1000])
    args = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="llm-magics-wf-")
    per_step_ms(5, folder)  # warm-up: imports, persona catalogue, SQLite
    results = {n: per_step_ms(n, folder) for n in args.steps}
    for n, ms in results.items():
        print(f"workflow: {n:5d} chained offline steps: {ms:6.2f} ms of overhead per step ({ms * n / 1000:.2f} s)")
    lo, hi = min(results), max(results)
    ratio = results[hi] / results[lo]
    print(f"workflow: per-step overhead at {hi} steps ÷ at {lo} steps = {ratio:.2f} (goal ≤ 2; linear = 1)")


if __name__ == "__main__":
    main()
