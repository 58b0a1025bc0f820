"""The history: every run (discussion, workflow, comparison, evaluation) in one SQLite file, and
the functions that list, show, export and reload runs."""

from __future__ import annotations

from llm_magics.history.runs import FORMATS, export_run, history_runs, load_run, show_run
from llm_magics.history.store import KINDS, History, RunRecord, default_history, new_run_id

__all__ = [
    "History",
    "RunRecord",
    "KINDS",
    "default_history",
    "new_run_id",
    "history_runs",
    "show_run",
    "export_run",
    "load_run",
    "FORMATS",
]
