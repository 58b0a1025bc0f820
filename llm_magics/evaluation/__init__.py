"""Evaluate model IDs on a labelled dataset: accuracy with confidence intervals, cost, latency,
resumable, at the rate limit (issue 14).

    api.py        evaluate / aevaluate / estimate_eval / resume_eval
    plan.py       every check before the first request → EvalPlan
    run.py        workers, scoring, history writes, events
    result.py     EvalResult (summary, compare, exports) ; summary.py the per-target numbers
    stats.py      Wilson, bootstrap, pass@k, maj@k, exact McNemar, paired bootstrap (pure Python)
    scorers.py    exact, contains, regex, number, choice, json, cwe, callables ; judge.py the LLM judge
    data.py       datasets and template checks ; datasets.py the shipped sets
    targets.py    target resolution ; limits.py the concurrency seam ; workflow_mode.py --workflow
    render.py     tables and the chart
"""

from __future__ import annotations

from llm_magics.evaluation.api import aestimate_eval, aevaluate, aresume_eval, estimate_eval, evaluate, resume_eval
from llm_magics.evaluation.datasets import DATASETS, load_dataset
from llm_magics.evaluation.result import EvalResult, PairedResult

__all__ = ["evaluate", "aevaluate", "EvalResult", "PairedResult", "estimate_eval", "aestimate_eval",
           "resume_eval", "aresume_eval", "load_dataset", "DATASETS"]
